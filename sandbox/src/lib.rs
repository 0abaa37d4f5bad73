//! Sandboxes: one execution path behind one trait, with Docker (bollard) and local implementations.
//!
//! A sandbox holds a checkout of the project with a baseline commit and a virtualenv outside the checkout.
//! Candidates are tried with `reset` → `apply_patch` → `exec`, one job at a time per sandbox.

mod auto_setup;
pub mod docker;
pub mod environment;
pub mod local;
mod output;
mod patch;
mod project;
mod python_choice;
pub mod scm_version;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use docker::PythonVersion;
pub use patch::{PatchAttempt, PatchMethod, PatchOutcome};
pub use project::{ProjectFile, ProjectFiles, Setup, SetupStep, shell_quote};
pub use python_choice::{PythonChoice, choose_python};

/// Exit code reported for a run stopped by its timeout (as `timeout(1)` does).
pub const TIMEOUT_EXIT_CODE: i32 = 124;
/// The line put where output was cut.
pub const TRUNCATION_MARKER: &str = "[... output truncated ...]";
/// How long output is still read after the process ended (or was killed), so grandchildren that keep the pipes
/// open cannot hang us.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// One command to run in a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    pub argv: Vec<String>,
    /// Working directory; relative paths are taken from the checkout, `None` is the checkout.
    pub cwd: Option<String>,
    /// Added to the sandbox's environment (which puts the virtualenv first on `PATH`).
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Bytes kept per stream; beyond it the middle is cut and marked with [`TRUNCATION_MARKER`].
    pub output_cap: usize,
}

impl ExecRequest {
    /// `argv` in the checkout with a timeout and a 1 MiB cap.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>, timeout: Duration) -> Self {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: Vec::new(),
            timeout,
            output_cap: 1 << 20,
        }
    }
}

/// What a command did. Output is decoded as lossy UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The process's exit code, 128 + signal when it was killed by one, [`TIMEOUT_EXIT_CODE`] on timeout.
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    /// Some output was cut (see [`ExecRequest::output_cap`]).
    pub truncated: bool,
    pub duration: Duration,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.exit_code == 0 && !self.timed_out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("no Docker engine is reachable (is the daemon running and is DOCKER_HOST right?)")]
    EngineUnreachable(#[source] bollard::errors::Error),
    #[error("a Docker engine request failed: {context}")]
    Docker {
        context: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// The engine gave no answer to a request within its deadline (see [`docker::ENGINE_CALL_DEADLINE`]): the
    /// candidate or step it was for fails with this cause instead of waiting for ever.
    #[error("the Docker engine did not answer within {} s while {operation} (it looks stalled)", .waited.as_secs())]
    EngineStalled { operation: String, waited: Duration },
    #[error("container {container} no longer exists")]
    ContainerGone { container: String },
    #[error("container {container} is not running")]
    ContainerNotRunning { container: String },
    #[error("the Docker run {run_id} has shut down: no container is started any more")]
    RunShutDown { run_id: String },
    #[error("image {image} is missing; build it first ({hint})")]
    ImageMissing { image: String, hint: String },
    #[error("building the base image needs {requirement}")]
    BaseImagePrerequisite { requirement: String },
    #[error("`{command}` failed with exit code {exit_code}: {output}")]
    HostCommand { command: String, exit_code: i32, output: String },
    /// The whole output stays here (for the setup log); the message shows its last lines.
    /// The first line stands alone (reports keep one line per cause).
    #[error("setup step `{command}` failed with exit code {exit_code}\nthe last lines of its output:\n{}", last_lines(.output, SETUP_TAIL_LINES))]
    Setup { command: String, exit_code: i32, output: String },
    #[error("{action} in the sandbox failed with exit code {exit_code}:\n{output}")]
    Internal { action: String, exit_code: i32, output: String },
    #[error("could not start `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("an exec request needs at least a program name")]
    EmptyArgv,
    #[error("path {path:?} must be relative and stay inside the checkout")]
    InvalidPath { path: String },
    #[error(
        "`{name}` looks like a secret and is never passed to test processes (names matching *_API_KEY, *_KEY, \
         *TOKEN*, *SECRET*, *PASSWORD*, *CREDENTIAL*, GITHUB_*, AGENTLESS_* are refused)"
    )]
    SecretVariable { name: String },
    #[error("the sandbox could not be recovered after a fault: {cause}")]
    Unrecoverable { cause: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A checkout with a baseline commit and a virtualenv, where candidates are applied and tests run.
///
/// Every candidate is judged in the same pristine state: [`Sandbox::reset`] restores or discards whatever a test run
/// could have written (checkout, virtualenv, home, temporary folders, processes), and [`Sandbox::exec`] hands the
/// process an allowlisted environment (see [`environment`]).
#[async_trait]
pub trait Sandbox: Send + Sync {
    /// Where the checkout is (the default working directory of [`Sandbox::exec`]).
    fn workdir(&self) -> &str;

    /// What this sandbox isolates, for the run's report and its one line on stderr.
    fn isolation(&self) -> Isolation;

    /// Run one command; a timeout kills everything it started and reports [`TIMEOUT_EXIT_CODE`].
    async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, SandboxError>;

    /// Write a file under the checkout, creating its parent folders.
    async fn write_file(&self, relative_path: &str, contents: &[u8]) -> Result<(), SandboxError>;

    /// Back to the pristine state after setup: the checkout at its baseline commit, and everything else a test run
    /// could write (the virtualenv, home, temporary folders, stray processes) as it was. Called before every
    /// candidate and before every planning run.
    async fn reset(&self) -> Result<(), SandboxError>;

    /// Only the checkout back to its baseline commit (tracked files restored, untracked removed): undoes a partial
    /// patch application between the fallbacks of [`Sandbox::apply_patch`].
    async fn reset_checkout(&self) -> Result<(), SandboxError> {
        reset_to_baseline(self).await
    }

    /// Apply a unified diff to the checkout: `git apply`, then `git apply --reject`, then `patch --fuzz=5`.
    /// Meant to follow [`Sandbox::reset`]: a failed attempt resets the checkout before the next one.
    async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError>;

    /// After a fault (a failed reset, a dead or OOM-killed container, a runner that stopped answering): replace
    /// whatever may be broken with a fresh worker in the pristine state (a new container from the project image, a
    /// fresh checkout). An error means this worker cannot be used again.
    async fn recover(&self) -> Result<(), SandboxError>;
}

/// What a sandbox isolates; shown once per run and kept in the report, so nobody takes a local run for a jail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Isolation {
    /// `docker`, `bubblewrap` or `none` (a copy in a temporary folder).
    pub mechanism: String,
    /// Test processes have no network but loopback.
    pub network_cut: bool,
    /// Test processes can write only the sandbox's checkout and its scratch folders.
    pub host_read_only: bool,
    /// The user's home, `/run` (the Docker socket) and the user's repository are hidden from test processes.
    pub secrets_hidden: bool,
    /// Every process a test starts dies with its run, and with agentless (kill -9 included).
    pub processes_contained: bool,
    /// Most processes at once, when limited.
    pub process_limit: Option<u64>,
    /// Memory in bytes, when limited.
    pub memory_limit: Option<u64>,
}

impl std::fmt::Display for Isolation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yes_no = |flag: bool| if flag { "yes" } else { "NO" };
        write!(
            formatter,
            "sandbox isolation ({}): network cut {}, host read-only {}, home and secrets hidden {}, processes \
             contained {}, process limit {}, memory limit {}; environment variables allowlisted",
            self.mechanism,
            yes_no(self.network_cut),
            yes_no(self.host_read_only),
            yes_no(self.secrets_hidden),
            yes_no(self.processes_contained),
            self.process_limit.map_or_else(|| "NONE".to_owned(), |limit| limit.to_string()),
            self.memory_limit.map_or_else(|| "NONE".to_owned(), |bytes| format!("{} MiB", bytes >> 20)),
        )
    }
}

/// How long a reset may take.
const RESET_TIMEOUT: Duration = Duration::from_secs(300);

/// The [`Sandbox::reset`] of every implementation: `git reset --hard` and `git clean -ffdx` in the checkout (the
/// virtualenv lives outside it).
pub(crate) async fn reset_to_baseline(sandbox: &(impl Sandbox + ?Sized)) -> Result<(), SandboxError> {
    let request = ExecRequest::new(["sh", "-c", "git reset -q --hard && git clean -q -ffdx"], RESET_TIMEOUT);
    let output = sandbox.exec(&request).await?;
    if output.success() {
        return Ok(());
    }
    Err(SandboxError::Internal {
        action: "resetting the checkout".to_owned(),
        exit_code: output.exit_code,
        output: format!("{}{}", output.stdout, output.stderr),
    })
}

/// Field 22 of `/proc/PID/stat` (start time in clock ticks), `None` when there is no such process: with the pid, what
/// tells a live owner of sandboxes from a reused pid.
pub(crate) fn process_start_time(pid: u32) -> Option<String> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    after_name.split_whitespace().nth(19).map(str::to_owned)
}

/// Normalize a path relative to the checkout, refusing absolute paths and `..`.
pub(crate) fn checked_relative_path(relative_path: &str) -> Result<String, SandboxError> {
    let invalid = || SandboxError::InvalidPath { path: relative_path.to_owned() };
    let mut parts = Vec::new();
    if relative_path.starts_with('/') {
        return Err(invalid());
    }
    for part in relative_path.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(invalid()),
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Err(invalid());
    }
    Ok(parts.join("/"))
}

/// Lines of a failed setup step's output shown in its error.
const SETUP_TAIL_LINES: usize = 15;

/// The last `count` lines of `text`, after a line saying how many were left out.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let skipped = lines.len().saturating_sub(count);
    let tail = lines[skipped..].join("\n");
    if skipped == 0 { tail } else { format!("[... {skipped} earlier lines ...]\n{tail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_setup_shows_its_last_lines_only() {
        let output: String = (1..=40).map(|line| format!("line {line}\n")).collect();
        let error = SandboxError::Setup { command: "pip install -e .".to_owned(), exit_code: 1, output };
        let message = error.to_string();
        assert!(message.contains("[... 25 earlier lines ...]\nline 26\n"), "{message}");
        assert!(message.ends_with("line 40"), "{message}");
        assert!(!message.contains("line 25\n"), "{message}");
        assert_eq!(message.lines().next(), Some("setup step `pip install -e .` failed with exit code 1"));
    }

    #[test]
    fn relative_paths_stay_inside_the_checkout() {
        assert_eq!(checked_relative_path("./a//b/c.py").ok(), Some("a/b/c.py".to_owned()));
        assert!(checked_relative_path("/etc/passwd").is_err());
        assert!(checked_relative_path("a/../../b").is_err());
        assert!(checked_relative_path("").is_err());
    }
}
