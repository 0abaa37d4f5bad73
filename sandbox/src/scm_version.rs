//! The version setuptools-scm is told to use in a sandbox, whose copy of the project is a git repository of one
//! untagged commit: the host's `git describe` of the commit the files come from, or `0.0.0` without one.

use std::path::Path;
use std::process::Stdio;

use crate::project::ProjectFiles;

/// The variable setuptools-scm takes a version from instead of git.
pub const PRETEND_VERSION: &str = "SETUPTOOLS_SCM_PRETEND_VERSION";
/// The version pretended when the host has no tag to describe the commit by (or no commit: a plain folder).
pub const FALLBACK_VERSION: &str = "0.0.0";

/// Whether the project builds its version with setuptools-scm: named in `pyproject.toml`'s build requirements or
/// `[tool.setuptools_scm]`, in `setup.cfg`'s `setup_requires`, or in `setup.py` (`use_scm_version`).
pub fn uses_setuptools_scm(files: &ProjectFiles) -> bool {
    let mentions = |path: &str, words: &[&str]| {
        files.get(path).is_some_and(|file| {
            let text = String::from_utf8_lossy(&file.contents).to_ascii_lowercase().replace('-', "_");
            words.iter().any(|word| text.contains(word))
        })
    };
    mentions("pyproject.toml", &["setuptools_scm"])
        || mentions("setup.cfg", &["setuptools_scm"])
        || mentions("setup.py", &["setuptools_scm", "use_scm_version"])
}

/// The version to pretend for `files`, `None` when they do not use setuptools-scm: `described` (the host's
/// [`described_version`]) or [`FALLBACK_VERSION`].
pub fn pretend_version(files: &ProjectFiles, described: impl FnOnce() -> Option<String>) -> Option<String> {
    uses_setuptools_scm(files).then(|| described().unwrap_or_else(|| FALLBACK_VERSION.to_owned()))
}

/// The version setuptools-scm would compute at `commit` of the repository at `repository` (a work tree or a git
/// directory) with its history: its default `guess-next-dev` scheme without the local part, from
/// `git describe --tags --long`. `None` without a tag that starts with a number.
pub fn described_version(repository: &Path, commit: &str) -> Option<String> {
    let output = std::process::Command::new("git")
        .arg("-c")
        .arg("safe.directory=*")
        .arg("-C")
        .arg(repository)
        .args(["describe", "--tags", "--long", commit])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    version_from_describe(String::from_utf8_lossy(&output.stdout).trim())
}

/// `v4.4.1-60-gabc123` → `4.4.2.dev60`; `1.2-0-gabc` → `1.2`; a tag with a suffix (`v5.1.dev`, `2.0rc1`) →
/// its leading numbers with `.devN`; a tag that does not start with a number → `None`.
fn version_from_describe(described: &str) -> Option<String> {
    let mut parts = described.rsplitn(3, '-');
    let _hash = parts.next()?;
    let distance: u64 = parts.next()?.parse().ok()?;
    let tag = parts.next()?;
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let components: Vec<&str> = tag.split('.').collect();
    let numbers: Vec<u64> = components.iter().map_while(|part| part.parse().ok()).collect();
    if numbers.is_empty() {
        return None;
    }
    let dotted = |numbers: &[u64]| numbers.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
    if numbers.len() < components.len() {
        return Some(format!("{}.dev{distance}", dotted(&numbers)));
    }
    if distance == 0 {
        return Some(tag.to_owned());
    }
    let mut next = numbers;
    if let Some(last) = next.last_mut() {
        *last += 1;
    }
    Some(format!("{}.dev{distance}", dotted(&next)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::tests::files;

    #[test]
    fn describe_output_becomes_a_setuptools_scm_version() {
        assert_eq!(version_from_describe("4.4.1-60-g1234abc").as_deref(), Some("4.4.2.dev60"));
        assert_eq!(version_from_describe("v0.12.3-0-g1234abc").as_deref(), Some("0.12.3"));
        assert_eq!(version_from_describe("release-1-2-g1234abc"), None);
        assert_eq!(version_from_describe("v5.1.dev-761-g298ccb4").as_deref(), Some("5.1.dev761"));
        assert_eq!(version_from_describe("v2.0rc1-3-g1234abc").as_deref(), Some("2.dev3"));
        assert_eq!(version_from_describe("garbage"), None);
    }

    #[test]
    fn only_setuptools_scm_projects_get_a_version_and_without_a_tag_it_is_the_fallback() {
        let scm = files(&[("pyproject.toml", "[build-system]\nrequires = ['setuptools>=64', 'setuptools-scm>=8']\n")]);
        assert_eq!(pretend_version(&scm, || Some("1.4.0".to_owned())).as_deref(), Some("1.4.0"));
        assert_eq!(pretend_version(&scm, || None).as_deref(), Some(FALLBACK_VERSION));
        let setup_py = files(&[("setup.py", "setup(use_scm_version=True)")]);
        assert!(uses_setuptools_scm(&setup_py));
        let plain = files(&[("pyproject.toml", "[project]\nname = 'x'\nversion = '1.0'\n")]);
        assert_eq!(pretend_version(&plain, || Some("1.4.0".to_owned())), None);
    }

    #[test]
    fn the_host_repository_is_described_at_the_commit() {
        let folder = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"])
                .args(args)
                .current_dir(folder.path())
                .output()
                .unwrap_or_else(|error| panic!("git: {error}"));
            assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
            String::from_utf8_lossy(&status.stdout).trim().to_owned()
        };
        git(&["init", "-q"]);
        git(&["commit", "-q", "--allow-empty", "-m", "one"]);
        let untagged = git(&["rev-parse", "HEAD"]);
        assert_eq!(described_version(folder.path(), &untagged), None);
        git(&["tag", "v1.4.0"]);
        git(&["commit", "-q", "--allow-empty", "-m", "two"]);
        git(&["commit", "-q", "--allow-empty", "-m", "three"]);
        assert_eq!(described_version(folder.path(), &untagged).as_deref(), Some("1.4.0"));
        assert_eq!(described_version(folder.path(), "HEAD").as_deref(), Some("1.4.1.dev2"));
        assert_eq!(described_version(&folder.path().join("missing"), "HEAD"), None);
    }
}
