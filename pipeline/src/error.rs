//! Why a pipeline run failed.

use std::path::PathBuf;

/// A run that could not finish. What it finished before is in its run directory.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("localization failed")]
    Localize(#[from] agentless_localize::LocalizeError),
    #[error("repair failed")]
    Repair(#[from] agentless_repair::RepairError),
    #[error("validation failed")]
    Validate(#[from] agentless_validate::ValidateError),
    #[error("{context}")]
    Sandbox {
        context: &'static str,
        #[source]
        source: agentless_sandbox::SandboxError,
    },
    /// A setup step failed; its whole output is in `log`.
    #[error("{context} (the whole setup log: {})", log.display())]
    Setup {
        context: &'static str,
        log: PathBuf,
        #[source]
        source: agentless_sandbox::SandboxError,
    },
    #[error("`{}` holds no Python file: agentless repairs Python projects", root.display())]
    NoPythonFiles { root: PathBuf },
    #[error("cannot read the repository")]
    Source(#[from] agentless_syntax::SourceError),
    #[error("cannot set up the model")]
    Model(#[from] agentless_model::ModelError),
    #[error("cannot resume from `{}`", path.display())]
    Resume {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "cannot resume `{}`: {} changed since it started (start a new run with another --out)",
        run_dir.display(),
        changed.join(", ")
    )]
    ResumeChanged { run_dir: PathBuf, changed: Vec<String> },
    #[error("cannot write an artifact")]
    Serialize(#[source] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The caller cancelled the run (Ctrl-C); its sandboxes are gone.
    #[error("the run was cancelled")]
    Cancelled,
}

impl PipelineError {
    /// A failure of the machinery around the tests (a sandbox that cannot be set up or started, an image that
    /// cannot be built), not of the run's inputs: validation degrades to the fallback instead of failing the run.
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self,
            PipelineError::Sandbox { .. }
                | PipelineError::Setup { .. }
                | PipelineError::Validate(
                    agentless_validate::ValidateError::Sandbox(_) | agentless_validate::ValidateError::NoSandbox
                )
        )
    }
}
