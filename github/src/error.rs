//! The bot's typed errors, each naming what failed and, where a token permission explains it, which one.

use std::fmt;
use std::path::PathBuf;

/// What an [`crate::IssueFixer`] returns when it fails (the pipeline's typed error, boxed).
pub type PipelineError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A workflow permission the token needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Comments on issues.
    Issues,
    /// Draft pull requests.
    PullRequests,
    /// Pushing the fix branch.
    Contents,
}

impl Permission {
    /// The key under `permissions:` in a workflow.
    pub fn scope(self) -> &'static str {
        match self {
            Permission::Issues => "issues",
            Permission::PullRequests => "pull-requests",
            Permission::Contents => "contents",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: write", self.scope())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error(
        "GitHub answered HTTP {status} to {method} {path} after {attempts} attempt(s): {message}{}",
        .needs.map(|permission| format!(" (the token needs the `{permission}` permission)")).unwrap_or_default()
    )]
    Status { method: String, path: String, status: u16, attempts: u32, message: String, needs: Option<Permission> },
    #[error("{method} {path} failed after {attempts} attempt(s)")]
    Transport {
        method: String,
        path: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot read GitHub's answer to {method} {path}")]
    Decode {
        method: String,
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed:\n{output}")]
    Failed { command: String, output: String },
    #[error(
        "pushing branch `{branch}` was rejected; the token needs the `{}` permission:\n{output}",
        Permission::Contents
    )]
    PushRejected { branch: String, output: String },
    #[error("cannot create a temporary index")]
    TempIndex(#[source] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("the environment variable {name} is not set (is this running in GitHub Actions?)")]
    MissingEnv { name: &'static str },
    #[error("cannot read the event payload")]
    ReadEvent(#[source] std::io::Error),
    #[error("cannot parse the event payload {path}")]
    ParseEvent {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("the pipeline failed: {message}")]
    Pipeline {
        /// The error and its causes, one per line.
        message: String,
        #[source]
        source: PipelineError,
    },
    #[error("cannot write the patch into the run directory")]
    WritePatch(#[source] std::io::Error),
    #[error("cannot write the step summary or outputs")]
    WriteOutputs(#[source] std::io::Error),
}

impl ActionError {
    /// The permission whose absence explains this error, if one does.
    pub fn missing_permission(&self) -> Option<Permission> {
        match self {
            ActionError::Api(ApiError::Status { needs, .. }) => *needs,
            ActionError::Git(GitError::PushRejected { .. }) => Some(Permission::Contents),
            ActionError::Api(ApiError::HttpClient(_) | ApiError::Transport { .. } | ApiError::Decode { .. })
            | ActionError::Git(GitError::Spawn { .. } | GitError::Failed { .. } | GitError::TempIndex(_))
            | ActionError::MissingEnv { .. }
            | ActionError::ReadEvent(_)
            | ActionError::ParseEvent { .. }
            | ActionError::Pipeline { .. }
            | ActionError::WritePatch(_)
            | ActionError::WriteOutputs(_) => None,
        }
    }
}
