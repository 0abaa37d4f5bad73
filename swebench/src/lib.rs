//! SWE-bench (issue #5): the pure-logic core of the evaluation harness — datasets, predictions, install/test specs,
//! eval scripts, grading and reports (the log parsers are `agentless-testlog`'s). Nothing here runs a container or touches the network; a runner
//! executes the commands this crate produces in a sandbox and hands the test log back for grading; [`runner`] is
//! that runner, over the sandboxes of `agentless-validate` and local clones of the repositories.

pub mod clone;
pub mod dataset;
pub mod environment;
pub mod eval_script;
pub mod grading;
pub mod infer;
mod json_ascii;
pub mod lite_s;
pub mod loopback;
pub mod parquet_rows;
pub mod predictions;
pub mod replay;
pub mod report;
pub mod runner;
pub mod specs;

use std::path::PathBuf;

pub use agentless_testlog::{LogParser, StatusMap, TestStatus};
pub use dataset::{DataDir, Dataset, DatasetName, HarnessMeta, Instance};
pub use environment::{EnvironmentPlan, RepoFiles};
pub use eval_script::{
    EvalScriptOptions, PatchApplyPlan, eval_script, modified_files, test_directives, test_directives_for,
};
pub use grading::{EvalType, LogEvaluation, ResolvedStatus, TestsStatus, evaluate_log};
pub use predictions::{Prediction, PredictionSource, Predictions};
pub use report::{InstanceReport, ReportFile, RunSummary};
pub use specs::{Packages, RepoVersionSpec};

#[derive(Debug, thiserror::Error)]
pub enum SwebenchError {
    #[error("no SWE-bench data folder found: looked for `shared/data` above {start}; pass the folder explicitly")]
    DataDirNotFound { start: PathBuf },
    #[error(
        "unknown dataset `{name}`: use lite, lite-dev, verified, lite-s or a path to a Parquet, .jsonl or .json file"
    )]
    UnknownDataset { name: String },
    #[error("{path} is not a SWE-bench dataset: {reason}")]
    NotADataset { path: PathBuf, reason: String },
    #[error(
        "{path}: {place}{}: no `{field}` field (every instance needs {})",
        instance_note(.instance_id.as_deref()),
        dataset::REQUIRED_FIELDS.join(", ")
    )]
    MissingField { path: PathBuf, place: dataset::RowPlace, instance_id: Option<String>, field: &'static str },
    #[error("{path}: {place}{}: {source}", instance_note(.instance_id.as_deref()))]
    BadRow {
        path: PathBuf,
        place: dataset::RowPlace,
        instance_id: Option<String>,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet_rows::ParquetRowsError,
    },
    #[error("Lite-S needs its id list: neither {ids} nor Agentless's classification {csv} exists")]
    LiteSIdsNotFound { ids: PathBuf, csv: PathBuf },
    #[error("{path}:{line}: {source}")]
    JsonLine {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: instance ids not in the dataset: {ids:?}")]
    UnknownInstances { path: PathBuf, ids: Vec<String> },
    #[error("no install/test spec for {repo} version {version}")]
    NoSpec { repo: String, version: String },
    #[error("no log parser named `{name}`")]
    UnknownLogParser { name: String },
    #[error("{repo}: none of {paths:?} exists at {commit} (nor at the base commit)")]
    MissingRepoFile { repo: String, commit: String, paths: Vec<String> },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// ` (instance ID)` after a row's place in an error, when the row has an id.
fn instance_note(instance_id: Option<&str>) -> String {
    instance_id.map(|id| format!(" (instance {id})")).unwrap_or_default()
}
