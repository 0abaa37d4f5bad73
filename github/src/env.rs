//! The Actions environment: every variable name the bot reads, named once, and [`ActionEnv`] built from them.

use std::fmt;
use std::path::PathBuf;

use crate::error::ActionError;

/// Every environment variable the bot reads. The CLI refers to these rather than spelling the names again.
pub struct GithubEnvVars;

impl GithubEnvVars {
    /// `issues`, `issue_comment`, ...: the event that started the workflow.
    pub const GITHUB_EVENT_NAME: &'static str = "GITHUB_EVENT_NAME";
    /// Path of the JSON file holding the event's payload.
    pub const GITHUB_EVENT_PATH: &'static str = "GITHUB_EVENT_PATH";
    /// `owner/name` of the repository.
    pub const GITHUB_REPOSITORY: &'static str = "GITHUB_REPOSITORY";
    /// Base URL of the REST API (default `https://api.github.com`).
    pub const GITHUB_API_URL: &'static str = "GITHUB_API_URL";
    /// Base URL of the web site (default `https://github.com`), for links to the run.
    pub const GITHUB_SERVER_URL: &'static str = "GITHUB_SERVER_URL";
    /// The checked-out repository the pipeline works on and the fix is committed from.
    pub const GITHUB_WORKSPACE: &'static str = "GITHUB_WORKSPACE";
    /// Id of the workflow run, for the link in the comments.
    pub const GITHUB_RUN_ID: &'static str = "GITHUB_RUN_ID";
    /// File the step summary (markdown) is appended to.
    pub const GITHUB_STEP_SUMMARY: &'static str = "GITHUB_STEP_SUMMARY";
    /// File the step outputs (`patch-path`, `pr-url`, `branch`, `cost`) are appended to.
    pub const GITHUB_OUTPUT: &'static str = "GITHUB_OUTPUT";
    /// The token for the REST API and the push (the action's `github-token` input).
    pub const GITHUB_TOKEN: &'static str = "GITHUB_TOKEN";
    /// The label that starts a run (the action's `label` input; default `agentless`).
    pub const AGENTLESS_LABEL: &'static str = "AGENTLESS_LABEL";
    /// The phrase a comment starts with to start a run (the action's `trigger` input; default `/agentless`).
    pub const AGENTLESS_TRIGGER: &'static str = "AGENTLESS_TRIGGER";
    /// Where the fix branch is pushed instead of the `origin` remote's URL (tests, mirrors).
    pub const AGENTLESS_PUSH_URL: &'static str = "AGENTLESS_PUSH_URL";
    /// The branch pull requests go to (the action's `base-branch` input; default: the repository's default branch).
    pub const AGENTLESS_BASE_BRANCH: &'static str = "AGENTLESS_BASE_BRANCH";
    /// What the fix branches are called before the issue number (the action's `branch-prefix` input; default
    /// `agentless/issue-`).
    pub const AGENTLESS_BRANCH_PREFIX: &'static str = "AGENTLESS_BRANCH_PREFIX";
}

pub const DEFAULT_LABEL: &str = "agentless";
pub const DEFAULT_TRIGGER: &str = "/agentless";
pub const DEFAULT_API_URL: &str = "https://api.github.com";
pub const DEFAULT_SERVER_URL: &str = "https://github.com";

/// The GitHub token. Its `Debug` shows `Token(***)` and it is not `Display`, so it cannot reach a log or an
/// error by accident; [`Token::redact`] scrubs it from text that came from elsewhere (git, the API).
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the token replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() { text.to_owned() } else { text.replace(&self.0, "***") }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Token(***)")
    }
}

/// Where the fix branch goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushRemote {
    /// The URL of the workspace's `origin` remote, as `actions/checkout` left it.
    Origin,
    /// Any URL git accepts: a bare repository in a test, a mirror.
    Url(String),
}

/// What the bot knows about the run, read from the Actions environment.
#[derive(Debug, Clone)]
pub struct ActionEnv {
    pub event_name: String,
    pub event_path: PathBuf,
    /// `owner/name`.
    pub repository: String,
    pub api_url: String,
    pub server_url: String,
    pub workspace: PathBuf,
    pub run_id: Option<String>,
    pub step_summary: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub label: String,
    pub trigger: String,
    pub token: Token,
    pub push_remote: PushRemote,
    /// Where pull requests go; `None`: the repository's default branch.
    pub base_branch: Option<String>,
    /// The fix branch of issue N is this followed by N.
    pub branch_prefix: String,
}

impl ActionEnv {
    /// Read from the process environment.
    pub fn from_env() -> Result<Self, ActionError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Read through `lookup` (the process environment, or a map in tests). Empty values count as unset, because
    /// an action input left empty arrives as an empty variable.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ActionError> {
        let optional = |name: &str| lookup(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        let required = |name: &'static str| optional(name).ok_or(ActionError::MissingEnv { name });
        let base_url = |name: &str, default: &str| optional(name).unwrap_or_else(|| default.to_owned());
        Ok(Self {
            event_name: required(GithubEnvVars::GITHUB_EVENT_NAME)?,
            event_path: required(GithubEnvVars::GITHUB_EVENT_PATH)?.into(),
            repository: required(GithubEnvVars::GITHUB_REPOSITORY)?,
            api_url: base_url(GithubEnvVars::GITHUB_API_URL, DEFAULT_API_URL).trim_end_matches('/').to_owned(),
            server_url: base_url(GithubEnvVars::GITHUB_SERVER_URL, DEFAULT_SERVER_URL).trim_end_matches('/').to_owned(),
            workspace: required(GithubEnvVars::GITHUB_WORKSPACE)?.into(),
            run_id: optional(GithubEnvVars::GITHUB_RUN_ID),
            step_summary: optional(GithubEnvVars::GITHUB_STEP_SUMMARY).map(PathBuf::from),
            output: optional(GithubEnvVars::GITHUB_OUTPUT).map(PathBuf::from),
            label: optional(GithubEnvVars::AGENTLESS_LABEL).unwrap_or_else(|| DEFAULT_LABEL.to_owned()),
            trigger: optional(GithubEnvVars::AGENTLESS_TRIGGER).unwrap_or_else(|| DEFAULT_TRIGGER.to_owned()),
            token: Token::new(required(GithubEnvVars::GITHUB_TOKEN)?),
            push_remote: optional(GithubEnvVars::AGENTLESS_PUSH_URL).map_or(PushRemote::Origin, PushRemote::Url),
            base_branch: optional(GithubEnvVars::AGENTLESS_BASE_BRANCH),
            branch_prefix: optional(GithubEnvVars::AGENTLESS_BRANCH_PREFIX)
                .unwrap_or_else(|| crate::git::DEFAULT_BRANCH_PREFIX.to_owned()),
        })
    }

    /// `{server}/{repo}/actions/runs/{run_id}`, when the run id is known.
    pub fn run_url(&self) -> Option<String> {
        self.run_id.as_ref().map(|run_id| format!("{}/{}/actions/runs/{run_id}", self.server_url, self.repository))
    }

    /// The repository's owner, as the `head` filter of the pull-request search wants it.
    pub fn owner(&self) -> &str {
        self.repository.split_once('/').map_or(self.repository.as_str(), |(owner, _)| owner)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use pretty_assertions::assert_eq;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    const MINIMAL: [(&str, &str); 5] = [
        ("GITHUB_EVENT_NAME", "issues"),
        ("GITHUB_EVENT_PATH", "/tmp/event.json"),
        ("GITHUB_REPOSITORY", "octo/calc"),
        ("GITHUB_WORKSPACE", "/work/calc"),
        ("GITHUB_TOKEN", "ghs_secret"),
    ];

    #[test]
    fn defaults_fill_what_the_action_left_empty() {
        let mut pairs = MINIMAL.to_vec();
        pairs.extend([("AGENTLESS_LABEL", ""), ("GITHUB_RUN_ID", "42")]);
        let env = ActionEnv::from_lookup(&lookup(&pairs)).unwrap();
        assert_eq!(env.label, "agentless");
        assert_eq!(env.trigger, "/agentless");
        assert_eq!(env.api_url, "https://api.github.com");
        assert_eq!(env.push_remote, PushRemote::Origin);
        assert_eq!((env.base_branch.as_deref(), env.branch_prefix.as_str()), (None, "agentless/issue-"));
        assert_eq!(env.run_url().as_deref(), Some("https://github.com/octo/calc/actions/runs/42"));
        assert_eq!(env.owner(), "octo");
        assert_eq!(format!("{:?}", env.token), "Token(***)");
    }

    #[test]
    fn a_missing_token_is_named() {
        let pairs: Vec<_> = MINIMAL.iter().copied().filter(|(name, _)| *name != "GITHUB_TOKEN").collect();
        let error = ActionEnv::from_lookup(&lookup(&pairs)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the environment variable GITHUB_TOKEN is not set (is this running in GitHub Actions?)"
        );
    }

    #[test]
    fn redaction_replaces_every_occurrence() {
        let token = Token::new("ghs_abc".to_owned());
        assert_eq!(token.redact("x ghs_abc y ghs_abc"), "x *** y ***");
    }
}
