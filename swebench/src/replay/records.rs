//! The original Agentless's per-stage JSON-lines rows (`loc_outputs.jsonl`, `output_{i}_processed.jsonl`, the
//! regression and reproduction results, `select_regression/output.jsonl`, `all_preds.jsonl`), read per instance.
//!
//! Only the fields we use are read; the others (trajectories, usage, raw outputs) are left alone. A row that is not
//! JSON, lacks `instance_id`, or has a field of the wrong type is an error naming the file and the line.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use agentless_localize::answers::FileLocs;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ReplayError;

/// `{file: [locations]}` as the original writes it: the value is a list of strings (each a block of
/// `line: 12\nfunction: f` lines), or one string; `loc_merged_*` writes `[]` instead of `{}` when a sample found
/// nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawFileLocs {
    #[default]
    Nothing,
    Files(LocsByFile),
    /// `[]`: no location.
    Empty([(); 0]),
}

/// A JSON object kept in its order (the original's dicts keep insertion order, and repair shows files in it).
pub(crate) type LocsByFile = indexmap::IndexMap<String, LocText>;

/// One file's locations: a list of strings or one string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum LocText {
    Many(Vec<String>),
    One(String),
}

impl RawFileLocs {
    /// Our `FileLocs`: one string per file, the original's strings joined by newlines (as `merge` joins them).
    pub(crate) fn to_file_locs(&self) -> FileLocs {
        match self {
            RawFileLocs::Nothing | RawFileLocs::Empty(_) => FileLocs::default(),
            RawFileLocs::Files(files) => files
                .iter()
                .map(|(file, text)| {
                    let joined = match text {
                        LocText::Many(lines) => lines.join("\n"),
                        LocText::One(line) => line.clone(),
                    };
                    (file.clone(), vec![joined])
                })
                .collect(),
        }
    }
}

/// `found_edit_locs`: one sample's `{file: …}` (in `loc_merged_{i}-{i}_outputs.jsonl`) or every sample's list of
/// them (in `edit_location_samples/loc_outputs.jsonl`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawEditLocs {
    Samples(Vec<RawFileLocs>),
    One(RawFileLocs),
}

impl Default for RawEditLocs {
    fn default() -> Self {
        RawEditLocs::One(RawFileLocs::Nothing)
    }
}

/// A row of `loc_outputs.jsonl` or `loc_merged_{i}-{i}_outputs.jsonl`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct LocRow {
    #[serde(default)]
    pub found_files: Vec<String>,
    #[serde(default)]
    pub found_related_locs: RawFileLocs,
    #[serde(default)]
    pub found_edit_locs: RawEditLocs,
}

/// A row of `repair_sample_{k}/output_{i}_processed.jsonl` (or `_normalized.jsonl`, which adds
/// `normalized_patch`). An instance the original could not repair has only `model_patch: ""`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ProcessedRow {
    pub model_patch: String,
    #[serde(default)]
    pub raw_model_patch: Option<String>,
    #[serde(default)]
    pub original_file_content: Vec<String>,
    #[serde(default)]
    pub edited_files: Vec<String>,
    #[serde(default)]
    pub new_file_content: Vec<String>,
    #[serde(default)]
    pub normalized_patch: Option<String>,
}

/// A row of `output_{i}_regression_test_results.jsonl`: the processed row plus `regression`, the kept tests that
/// failed (absent: no result, which `rerank.py` counts as 10,000 failures).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct RegressionRow {
    #[serde(default)]
    pub regression: Option<Vec<String>>,
}

/// A row of `output_{i}_reproduction_test_results.jsonl`: the processed row plus `reproduction`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ReproductionRow {
    #[serde(default)]
    pub reproduction: Option<bool>,
}

/// A row of `select_regression/output.jsonl`: the tests kept after the model's exclusions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct SelectRegressionRow {
    pub tests_passing_in_original_repo: Vec<String>,
}

/// A row of `all_preds.jsonl` (or our `predictions.jsonl`): the chosen patch, `""` or `null` for none.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct PredictionRow {
    #[serde(default)]
    pub model_patch: Option<String>,
}

#[derive(Deserialize)]
struct InstanceId {
    instance_id: String,
}

/// The rows of the JSON-lines file at `path` for the instances in `wanted` (every instance when `None`), by
/// instance id. Blank lines are skipped; a second row for one instance is an error (the original appends, so a
/// rerun without `--skip_existing` leaves duplicates that it would read first).
pub(crate) fn read_rows<T: DeserializeOwned>(
    path: &Path,
    wanted: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, T>, ReplayError> {
    let file = fs_err::File::open(path).map_err(|source| ReplayError::Read { path: path.to_owned(), source })?;
    let bad = |line: usize, reason: String| ReplayError::Row { path: path.to_owned(), line, reason };
    let mut rows = BTreeMap::new();
    for (index, text) in std::io::BufReader::new(file).lines().enumerate() {
        let line = index + 1;
        let text = text.map_err(|source| ReplayError::Read { path: path.to_owned(), source })?;
        if text.trim().is_empty() {
            continue;
        }
        let InstanceId { instance_id } = serde_json::from_str(&text).map_err(|error| bad(line, error.to_string()))?;
        if wanted.is_some_and(|wanted| !wanted.contains(&instance_id)) {
            continue;
        }
        let row: T =
            serde_json::from_str(&text).map_err(|error| bad(line, format!("instance {instance_id}: {error}")))?;
        if rows.insert(instance_id.clone(), row).is_some() {
            return Err(bad(line, format!("a second row for instance {instance_id}")));
        }
    }
    Ok(rows)
}

/// `path` relative to `root` for messages (the whole path when it is not under it).
pub(crate) fn shown(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).map_or_else(|_| path.to_owned(), Path::to_owned)
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
