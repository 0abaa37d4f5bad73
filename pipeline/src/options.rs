//! What shapes a pipeline run, with its defaults: the stages' options, how candidates are tested, and where.

use std::path::PathBuf;
use std::time::Duration;

use agentless_localize::LocalizeOptions;
use agentless_repair::RepairOptions;
use agentless_sandbox::Setup;
use agentless_sandbox::docker::PythonVersion;
use agentless_sandbox::local::Containment;

/// Everything that shapes a run. The stages' own options keep their own defaults; [`PipelineOptions::new`] makes
/// the options the stages share agree (the files and context repair shows are the ones localization chose).
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub localize: LocalizeOptions,
    pub repair: RepairOptions,
    pub validation: ValidationOptions,
    pub sandbox: SandboxOptions,
}

impl PipelineOptions {
    /// The options with repair showing what localization resolved: its top files and its context window.
    pub fn new(
        localize: LocalizeOptions,
        repair: RepairOptions,
        validation: ValidationOptions,
        sandbox: SandboxOptions,
    ) -> Self {
        let repair = RepairOptions { top_n: localize.top_n, context_window: localize.context_window, ..repair };
        Self { localize, repair, validation, sandbox }
    }
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self::new(
            LocalizeOptions::default(),
            RepairOptions::default(),
            ValidationOptions::default(),
            SandboxOptions::default(),
        )
    }
}

/// How candidates are tested.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationOptions {
    /// The test command; `None` detects one from the repository.
    pub test_command: Option<String>,
    /// Run the regression tests (the original's `--regression`).
    pub regression: bool,
    /// Reproduction tests generated; 0 turns them off.
    pub reproduction_tests: u32,
    /// Temperature of the sampled reproduction tests (the original's 0.8).
    pub reproduction_temperature: f32,
    /// How long one test run may take.
    pub test_timeout: Duration,
    /// The most a reproduction run may take (the original's `run_reproduction_tests.py --timeout`, 600 s).
    pub reproduction_timeout_cap: Duration,
    /// Bytes of each test run's stdout and stderr kept (the middle is cut beyond it).
    pub output_cap: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            test_command: None,
            regression: true,
            reproduction_tests: 10,
            reproduction_temperature: 0.8,
            test_timeout: Duration::from_secs(600),
            reproduction_timeout_cap: Duration::from_secs(600),
            output_cap: 1024 * 1024,
        }
    }
}

/// Where candidates are tested.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxOptions {
    pub kind: SandboxKind,
    /// Sandboxes working in parallel.
    pub workers: usize,
    /// How the project's test dependencies are installed.
    pub setup: Setup,
    /// Host variables test processes may see besides the locale (secret-looking names are an error).
    pub pass_env: Vec<String>,
    /// Docker: build a missing base image on demand, caching root filesystems here; `None` refuses instead.
    pub base_image_cache: Option<PathBuf>,
    /// Docker: touch the last-use stamp of an image in this folder whenever a container is created from it (what
    /// `agentless sandbox list` and `prune --older-than` go by); `None` records none.
    pub image_use: Option<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            kind: SandboxKind::default(),
            workers: 2,
            setup: Setup::Auto,
            pass_env: Vec::new(),
            base_image_cache: None,
            image_use: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxKind {
    /// A temporary copy and a virtualenv on this machine.
    Local { containment: Containment },
    /// Warm containers from a project image on this Python; `None`: the one the project's `requires-python` and
    /// classifiers choose ([`agentless_sandbox::choose_python`]).
    Docker { python: Option<PythonVersion> },
}

impl Default for SandboxKind {
    fn default() -> Self {
        SandboxKind::Local { containment: Containment::Auto }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repair_shows_what_localization_resolved() {
        let localize = LocalizeOptions { top_n: 5, context_window: 3, ..LocalizeOptions::default() };
        let repair = RepairOptions { top_n: 1, context_window: 20, ..RepairOptions::default() };
        let options = PipelineOptions::new(localize, repair, ValidationOptions::default(), SandboxOptions::default());
        assert_eq!((options.repair.top_n, options.repair.context_window), (5, 3));
    }
}
