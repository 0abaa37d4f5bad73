//! The settings a run's results depend on, in words, as the report shows them.

use agentless_localize::Retrieval;
use agentless_sandbox::Setup;
use agentless_sandbox::local::Containment;
use serde::Serialize;

use crate::{PipelineOptions, SandboxKind};

/// What a maintainer needs to know to judge or repeat a run: the model, where candidates were tested, and every
/// setting that changes which patch comes out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSettings {
    /// `provider:name`.
    pub model: String,
    /// Where candidates were tested: `local, bubblewrap when available` or `docker, Python 3.11`.
    pub sandbox: String,
    pub sandbox_workers: usize,
    /// How test dependencies were installed: `auto`, `none` or the command.
    pub setup: String,
    /// Files taken from each localization source and shown to repair.
    pub top_n_files: usize,
    /// Lines shown on each side of a location.
    pub context_window: usize,
    /// How files are retrieved besides the model's pick.
    pub retrieval: String,
    pub edit_location_samples: u32,
    pub edit_location_temperature: f32,
    /// Answers per location sample (sample 0 greedy, the rest at `repair_temperature`).
    pub repair_samples: u32,
    pub repair_temperature: f32,
    pub repair_max_tokens: u32,
    pub regression_tests: bool,
    /// Reproduction tests generated (0: none).
    pub reproduction_tests: u32,
    pub reproduction_temperature: f32,
    pub test_timeout_seconds: u64,
    pub reproduction_timeout_seconds: u64,
}

impl RunSettings {
    pub fn new(options: &PipelineOptions, model: &str) -> Self {
        let PipelineOptions { localize, repair, validation, sandbox } = options;
        Self {
            model: model.to_owned(),
            sandbox: match sandbox.kind {
                SandboxKind::Local { containment } => format!("local, {}", containment_words(containment)),
                SandboxKind::Docker { python: Some(python) } => format!("docker, Python {}", python.version()),
                SandboxKind::Docker { python: None } => "docker, Python chosen from the project".to_owned(),
            },
            sandbox_workers: sandbox.workers,
            setup: match &sandbox.setup {
                Setup::Auto => "auto".to_owned(),
                Setup::Bare => "none".to_owned(),
                Setup::Command(command) => command.clone(),
            },
            top_n_files: localize.top_n,
            context_window: localize.context_window,
            retrieval: match localize.retrieval {
                Retrieval::Bm25 => "BM25",
                Retrieval::Embeddings => "embeddings",
                Retrieval::Off => "off (the model's pick only)",
            }
            .to_owned(),
            edit_location_samples: localize.edit_samples,
            edit_location_temperature: localize.edit_temperature,
            repair_samples: repair.samples,
            repair_temperature: repair.temperature,
            repair_max_tokens: repair.max_tokens,
            regression_tests: validation.regression,
            reproduction_tests: validation.reproduction_tests,
            reproduction_temperature: validation.reproduction_temperature,
            test_timeout_seconds: validation.test_timeout.as_secs(),
            reproduction_timeout_seconds: validation.reproduction_timeout_cap.as_secs(),
        }
    }
}

fn containment_words(containment: Containment) -> &'static str {
    match containment {
        Containment::Auto => "bubblewrap when available",
        Containment::Bubblewrap => "bubblewrap",
        Containment::Off => "no containment",
    }
}
