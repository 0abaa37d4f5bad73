//! The environment test processes see: an allowlist built from scratch, never the parent's environment, so
//! model-written code cannot read the user's keys.
//!
//! Every sandbox starts from nothing and sets `PATH` (the virtualenv first), `HOME` and `VIRTUAL_ENV` (the local
//! sandbox also `TMPDIR` and a marker to find its processes by), then adds [`TestEnvironment::variables`] (the host's
//! locale and time zone, and the variables the user named with `--pass-env`), then the request's own variables. A
//! name that looks like a secret ([`is_secret_name`]) is refused when named and dropped when it arrives any other
//! way.

use super::SandboxError;

/// Host variables passed through whenever they are set: the locale and the time zone.
const LOCALE_VARIABLES: [&str; 3] = ["LANG", "LANGUAGE", "TZ"];

/// Whether a variable name looks like a credential: `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, `*_KEY`,
/// `*CREDENTIAL*`, `GITHUB_*`, `AGENTLESS_*` (any case). Such a variable never reaches a test process.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.ends_with("_API_KEY")
        || upper.ends_with("_KEY")
        || upper.contains("TOKEN")
        || upper.contains("SECRET")
        || upper.contains("PASSWORD")
        || upper.contains("CREDENTIAL")
        || upper.starts_with("GITHUB_")
        || upper.starts_with("AGENTLESS_")
}

/// The host variables a sandbox adds to every test process's allowlisted environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestEnvironment {
    variables: Vec<(String, String)>,
}

impl TestEnvironment {
    /// The host's locale variables (`LANG`, `LANGUAGE`, `LC_*`, `TZ`) and the variables in `pass_env`, read from
    /// this process's environment (unset ones are left out). A secret-looking name in `pass_env` is an error.
    pub fn from_host(pass_env: &[String]) -> Result<Self, SandboxError> {
        Self::from_variables(
            std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
            pass_env,
        )
    }

    /// As [`TestEnvironment::from_host`], from the given variables instead of this process's.
    pub fn from_variables(
        host: impl IntoIterator<Item = (String, String)>,
        pass_env: &[String],
    ) -> Result<Self, SandboxError> {
        if let Some(name) = pass_env.iter().find(|name| is_secret_name(name)) {
            return Err(SandboxError::SecretVariable { name: name.clone() });
        }
        let mut variables: Vec<(String, String)> = host
            .into_iter()
            .filter(|(name, _)| {
                LOCALE_VARIABLES.contains(&name.as_str())
                    || name.starts_with("LC_")
                    || pass_env.iter().any(|passed| passed == name)
            })
            .filter(|(name, _)| !is_secret_name(name))
            .collect();
        variables.sort();
        Ok(Self { variables })
    }

    pub fn variables(&self) -> &[(String, String)] {
        &self.variables
    }
}

/// `variables` without the secret-looking names, which are logged and dropped.
pub(crate) fn without_secrets<'a>(
    variables: &'a [(String, String)],
) -> impl Iterator<Item = &'a (String, String)> + 'a {
    variables.iter().filter(|(name, _)| {
        let secret = is_secret_name(name);
        if secret {
            tracing::warn!(name, "a secret-looking variable was dropped from a sandbox command");
        }
        !secret
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Vec<(String, String)> {
        [
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
            ("PATH", "/usr/bin"),
            ("OPENAI_API_KEY", "sk-canary"),
            ("GITHUB_TOKEN", "ghp"),
            ("DJANGO_SETTINGS_MODULE", "tests.settings"),
            ("HOME", "/root"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    #[test]
    fn only_the_locale_and_named_variables_pass() {
        let environment =
            TestEnvironment::from_variables(host(), &["DJANGO_SETTINGS_MODULE".to_owned(), "UNSET".to_owned()])
                .unwrap();
        let names: Vec<&str> = environment.variables().iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["DJANGO_SETTINGS_MODULE", "LANG", "LC_ALL"]);
    }

    #[test]
    fn secret_names_are_refused_when_named() {
        for name in ["OPENAI_API_KEY", "GITHUB_TOKEN", "github_sha", "AWS_SECRET_ACCESS_KEY", "AGENTLESS_MODEL"] {
            let error = TestEnvironment::from_variables(host(), &[name.to_owned()]).unwrap_err();
            assert!(matches!(error, SandboxError::SecretVariable { .. }), "{name}");
        }
        assert!(!is_secret_name("DJANGO_SETTINGS_MODULE"));
        assert!(!is_secret_name("PYTHONPATH"));
    }

    #[test]
    fn secrets_in_a_request_are_dropped() {
        let variables = host();
        let kept: Vec<&str> = without_secrets(&variables).map(|(name, _)| name.as_str()).collect();
        assert!(!kept.contains(&"OPENAI_API_KEY") && !kept.contains(&"GITHUB_TOKEN"));
        assert!(kept.contains(&"PATH"));
    }
}
