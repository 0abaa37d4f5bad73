//! Validation: run candidates against the project's tests and generated reproduction tests in sandboxes, and
//! select one patch.

pub mod baseline;
pub mod regression;
pub mod reproduction;
pub mod selection;
mod strength;
pub mod test_command;
mod validation;

use std::time::Duration;

pub use strength::ValidationStrength;
pub use validation::{
    CandidatePatch, PatchResult, RecordedResult, ValidateOptions, ValidationReport, recorded, unvalidated, validate,
};

use agentless_sandbox::{ExecRequest, Sandbox};

#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Sandbox(#[from] agentless_sandbox::SandboxError),
    #[error("a model request during validation failed")]
    Model(#[from] agentless_model::ModelError),
    #[error(transparent)]
    Prompt(#[from] agentless_prompts::PromptError),
    #[error("no sandbox to run the tests in")]
    NoSandbox,
}

/// `sh -c COMMAND` in the checkout.
pub(crate) fn shell_request(sandbox: &dyn Sandbox, command: &str, timeout: Duration, output_cap: usize) -> ExecRequest {
    ExecRequest {
        argv: vec!["sh".to_owned(), "-c".to_owned(), command.to_owned()],
        cwd: Some(sandbox.workdir().to_owned()),
        env: Vec::new(),
        timeout,
        output_cap,
    }
}
