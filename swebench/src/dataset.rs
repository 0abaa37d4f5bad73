//! SWE-bench datasets: instances in the hub's Parquet or the upstream JSONL / JSON-list format, the named datasets
//! in the shared data folder (`lite`, `lite-dev`, `verified`, `lite-s`) and the per-instance harness metadata (which
//! log parser).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::SwebenchError;
use crate::lite_s::lite_s_ids_from_classification;
use crate::parquet_rows;
use agentless_testlog::LogParser;

/// One task instance. Unknown fields (e.g. Verified's `difficulty`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub instance_id: String,
    pub repo: String,
    pub base_commit: String,
    pub patch: String,
    pub test_patch: String,
    #[serde(default)]
    pub problem_statement: String,
    #[serde(default)]
    pub hints_text: String,
    #[serde(default)]
    pub created_at: String,
    pub version: String,
    /// Upstream stores these as JSON-encoded strings; decoded lists are accepted too.
    #[serde(rename = "FAIL_TO_PASS", deserialize_with = "test_list")]
    pub fail_to_pass: Vec<String>,
    #[serde(rename = "PASS_TO_PASS", deserialize_with = "test_list")]
    pub pass_to_pass: Vec<String>,
    pub environment_setup_commit: String,
    /// SWE-bench 5.x rows carry their parser name (`parse_log_django`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_parser: Option<String>,
}

/// The fields a dataset row must have; the others ([`OPTIONAL_FIELDS`]) default to empty.
pub const REQUIRED_FIELDS: [&str; 9] = [
    "instance_id",
    "repo",
    "base_commit",
    "patch",
    "test_patch",
    "version",
    "FAIL_TO_PASS",
    "PASS_TO_PASS",
    "environment_setup_commit",
];

/// The fields of an [`Instance`] a row may leave out (or set to null).
pub const OPTIONAL_FIELDS: [&str; 4] = ["problem_statement", "hints_text", "created_at", "log_parser"];

fn test_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TestList {
        List(Vec<String>),
        Encoded(String),
    }
    match TestList::deserialize(deserializer)? {
        TestList::List(list) => Ok(list),
        TestList::Encoded(text) => serde_json::from_str(&text).map_err(serde::de::Error::custom),
    }
}

/// `*.harness-meta.jsonl`: the SWE-bench 5.x per-instance columns that are not bash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HarnessMeta {
    pub instance_id: String,
    pub log_parser: String,
    #[serde(default = "pass_and_fail")]
    pub eval_type: String,
    /// The official Docker Hub image (not pullable offline; kept for reference).
    #[serde(default)]
    pub image: String,
}

fn pass_and_fail() -> String {
    "pass_and_fail".to_owned()
}

/// The datasets that live in the shared data folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetName {
    /// SWE-bench Lite, test split (300).
    Lite,
    /// SWE-bench Lite, dev split (23).
    LiteDev,
    /// SWE-bench Verified, test split (500).
    Verified,
    /// Agentless's Lite-S: Lite test minus the problems its classification marks as unfit. This is **249, not the
    /// paper's 252**: the classification CSV was re-checked after the paper (see [`crate::lite_s`]).
    LiteS,
}

impl DatasetName {
    /// Said wherever Lite-S is counted, since its size differs from the paper's.
    pub const LITE_S_NOTE: &'static str = "Lite-S: the 249 instances the current Agentless classification keeps (the \
                                          paper counted 252 before its labels were re-checked)";

    pub const ALL: [DatasetName; 4] =
        [DatasetName::Lite, DatasetName::LiteDev, DatasetName::Verified, DatasetName::LiteS];

    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Lite => "lite",
            DatasetName::LiteDev => "lite-dev",
            DatasetName::Verified => "verified",
            DatasetName::LiteS => "lite-s",
        }
    }

    /// The JSONL file holding the rows (Lite-S reads Lite's).
    pub fn file_stem(self) -> &'static str {
        match self {
            DatasetName::Lite | DatasetName::LiteS => "swe-bench-lite",
            DatasetName::LiteDev => "swe-bench-lite-dev",
            DatasetName::Verified => "swe-bench-verified",
        }
    }
}

impl FromStr for DatasetName {
    type Err = SwebenchError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|known| known.as_str() == name)
            .ok_or_else(|| SwebenchError::UnknownDataset { name: name.to_owned() })
    }
}

/// The folder with the SWE-bench data files (`swe-bench-lite.jsonl`, …). Read in place, never downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

/// The file listing Lite-S's ids, one per line.
pub const LITE_S_IDS_FILE: &str = "swe-bench-lite-s-249-from-csv.txt";
/// Agentless's classification of the Lite problems.
pub const CLASSIFICATION_CSV: &str = "agentless_swebench_lite_classifications.csv";

impl DataDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The first `shared/data` folder found in `start` or one of its ancestors (so `/work/main/x` finds the
    /// sibling `/work/shared/data`).
    pub fn discover(start: &Path) -> Result<Self, SwebenchError> {
        start
            .ancestors()
            .map(|ancestor| ancestor.join("shared").join("data"))
            .find(|candidate| candidate.is_dir())
            .map(Self::new)
            .ok_or_else(|| SwebenchError::DataDirNotFound { start: start.to_owned() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<stem>.jsonl`, or `<stem>.parquet` when only that one exists (a file downloaded from the dataset hub).
    pub fn dataset_file(&self, name: DatasetName) -> PathBuf {
        let jsonl = self.path.join(format!("{}.jsonl", name.file_stem()));
        let parquet = self.path.join(format!("{}.parquet", name.file_stem()));
        if !jsonl.is_file() && parquet.is_file() { parquet } else { jsonl }
    }

    pub fn harness_meta_file(&self, name: DatasetName) -> PathBuf {
        self.path.join(format!("{}.harness-meta.jsonl", name.file_stem()))
    }
}

/// Instances plus whatever harness metadata was found for them.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub instances: Vec<Instance>,
    pub harness_meta: HashMap<String, HarnessMeta>,
}

impl Dataset {
    /// `spec` is a dataset name (`lite`, `lite-dev`, `verified`, `lite-s`) resolved in `data_dir`, or a path to a
    /// Parquet, `.jsonl` or `.json` file (whose `<stem>.harness-meta.jsonl` sibling is read when present).
    pub fn load(spec: &str, data_dir: &DataDir) -> Result<Self, SwebenchError> {
        if let Ok(name) = DatasetName::from_str(spec) {
            return Self::load_named(name, data_dir);
        }
        let path = Path::new(spec);
        if !path.is_file() {
            return Err(SwebenchError::UnknownDataset { name: spec.to_owned() });
        }
        Self::load_file(path)
    }

    /// A Parquet, `.jsonl` or `.json` file in SWE-bench's format (and its `<stem>.harness-meta.jsonl` sibling when
    /// present).
    pub fn load_file(path: &Path) -> Result<Self, SwebenchError> {
        let instances = load_instances(path)?;
        let stem = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        let stem = [".jsonl", ".json", ".parquet"].iter().find_map(|suffix| stem.strip_suffix(suffix)).unwrap_or(stem);
        let meta_path = path.with_file_name(format!("{stem}.harness-meta.jsonl"));
        let harness_meta = if meta_path.is_file() { load_harness_meta(&meta_path)? } else { HashMap::new() };
        Ok(Self { name: stem.to_owned(), instances, harness_meta })
    }

    pub fn load_named(name: DatasetName, data_dir: &DataDir) -> Result<Self, SwebenchError> {
        let mut instances = load_instances(&data_dir.dataset_file(name))?;
        let meta_path = data_dir.harness_meta_file(name);
        let harness_meta = if meta_path.is_file() { load_harness_meta(&meta_path)? } else { HashMap::new() };
        match name {
            DatasetName::Lite | DatasetName::LiteDev | DatasetName::Verified => {}
            DatasetName::LiteS => {
                let (keep, ids_path) = lite_s_ids(data_dir)?;
                let known: BTreeSet<&str> = instances.iter().map(|instance| instance.instance_id.as_str()).collect();
                let unknown: Vec<String> = keep.iter().filter(|id| !known.contains(id.as_str())).cloned().collect();
                if !unknown.is_empty() {
                    return Err(SwebenchError::UnknownInstances { path: ids_path, ids: unknown });
                }
                instances.retain(|instance| keep.contains(&instance.instance_id));
            }
        }
        Ok(Self { name: name.as_str().to_owned(), instances, harness_meta })
    }

    pub fn get(&self, instance_id: &str) -> Option<&Instance> {
        self.instances.iter().find(|instance| instance.instance_id == instance_id)
    }

    /// The parser for an instance: harness metadata first, then the row's own `log_parser`, then the repository.
    pub fn log_parser(&self, instance: &Instance) -> Result<LogParser, SwebenchError> {
        let named = self
            .harness_meta
            .get(&instance.instance_id)
            .map(|meta| meta.log_parser.as_str())
            .or(instance.log_parser.as_deref());
        match named {
            Some(name) => {
                LogParser::from_name(name).map_err(|unknown| SwebenchError::UnknownLogParser { name: unknown.name })
            }
            None => LogParser::for_repo(&instance.repo)
                .ok_or_else(|| SwebenchError::UnknownLogParser { name: format!("(for {})", instance.repo) }),
        }
    }
}

/// Lite-S's ids and the file they came from: [`LITE_S_IDS_FILE`], else derived from Agentless's
/// [`CLASSIFICATION_CSV`].
fn lite_s_ids(data_dir: &DataDir) -> Result<(BTreeSet<String>, PathBuf), SwebenchError> {
    let ids_path = data_dir.path().join(LITE_S_IDS_FILE);
    if ids_path.is_file() {
        return Ok((load_id_list(&ids_path)?, ids_path));
    }
    let csv_path = data_dir.path().join(CLASSIFICATION_CSV);
    if csv_path.is_file() {
        return Ok((lite_s_ids_from_classification(&csv_path)?, csv_path));
    }
    Err(SwebenchError::LiteSIdsNotFound { ids: ids_path, csv: csv_path })
}

/// Where a row sits in a dataset file, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowPlace {
    /// A JSONL line (1-based, blank lines counted).
    Line(usize),
    /// An item of a JSON list (1-based).
    Item(usize),
    /// A Parquet row (1-based).
    Row(usize),
}

impl fmt::Display for RowPlace {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowPlace::Line(number) => write!(formatter, "line {number}"),
            RowPlace::Item(number) => write!(formatter, "item {number}"),
            RowPlace::Row(number) => write!(formatter, "row {number}"),
        }
    }
}

/// The instances of a dataset file: Parquet as the dataset hub publishes it (recognised by its `PAR1` magic bytes,
/// whatever the file's name), a JSON list of objects, or JSON lines (one object per line).
pub fn load_instances(path: &Path) -> Result<Vec<Instance>, SwebenchError> {
    let data = fs_err::read(path)?;
    let rows = if parquet_rows::is_parquet(&data) {
        let wanted: Vec<&str> = REQUIRED_FIELDS.iter().chain(&OPTIONAL_FIELDS).copied().collect();
        parquet_rows::read_rows(data, &wanted, &REQUIRED_FIELDS)
            .map_err(|source| SwebenchError::Parquet { path: path.to_owned(), source })?
            .into_iter()
            .enumerate()
            .map(|(index, object)| (RowPlace::Row(index + 1), object))
            .collect()
    } else {
        json_objects(path, data)?
    };
    if rows.is_empty() {
        return Err(SwebenchError::NotADataset { path: path.to_owned(), reason: "it holds no rows".to_owned() });
    }
    rows.into_iter().map(|(place, object)| instance_from_object(path, place, object)).collect()
}

/// A row of a dataset file, as read, with its place in the file.
type PlacedRow = (RowPlace, Map<String, Value>);

/// The objects of a JSON list or of JSON lines, each with its place in the file.
fn json_objects(path: &Path, data: Vec<u8>) -> Result<Vec<PlacedRow>, SwebenchError> {
    let not_a_dataset = |reason: String| SwebenchError::NotADataset { path: path.to_owned(), reason };
    let text = String::from_utf8(data)
        .map_err(|_| not_a_dataset("it is neither Parquet (no `PAR1` magic bytes) nor UTF-8 text".to_owned()))?;
    let object = |place: RowPlace, value: Value| match value {
        Value::Object(object) => Ok((place, object)),
        other => Err(SwebenchError::Format {
            path: path.to_owned(),
            message: format!("{place}: expected an object with an instance's fields, found {}", json_kind(&other)),
        }),
    };
    let trimmed = text.trim_start();
    match trimmed.chars().next() {
        None => Err(not_a_dataset("it is empty".to_owned())),
        Some('[') => {
            let items: Vec<Value> =
                serde_json::from_str(&text).map_err(|source| SwebenchError::Json { path: path.to_owned(), source })?;
            items.into_iter().enumerate().map(|(index, value)| object(RowPlace::Item(index + 1), value)).collect()
        }
        Some('{') => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                let value = serde_json::from_str(line).map_err(|source| SwebenchError::JsonLine {
                    path: path.to_owned(),
                    line: index + 1,
                    source,
                })?;
                object(RowPlace::Line(index + 1), value)
            })
            .collect(),
        Some(_) => {
            let start: String = trimmed.lines().next().unwrap_or_default().chars().take(60).collect();
            Err(not_a_dataset(format!(
                "it starts with `{start}`; expected Parquet, a JSON list of objects or one JSON object per line"
            )))
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One row as an [`Instance`]: null fields count as absent, and a missing required field is named with the row's
/// place and id.
fn instance_from_object(
    path: &Path,
    place: RowPlace,
    mut object: Map<String, Value>,
) -> Result<Instance, SwebenchError> {
    object.retain(|_, value| !value.is_null());
    let instance_id = object.get("instance_id").and_then(Value::as_str).map(str::to_owned);
    if let Some(field) = REQUIRED_FIELDS.into_iter().find(|field| !object.contains_key(*field)) {
        return Err(SwebenchError::MissingField { path: path.to_owned(), place, instance_id, field });
    }
    serde_json::from_value(Value::Object(object)).map_err(|source| SwebenchError::BadRow {
        path: path.to_owned(),
        place,
        instance_id,
        source,
    })
}

pub fn load_harness_meta(path: &Path) -> Result<HashMap<String, HarnessMeta>, SwebenchError> {
    let rows: Vec<HarnessMeta> = load_records(path)?;
    Ok(rows.into_iter().map(|meta| (meta.instance_id.clone(), meta)).collect())
}

/// One id per line; blank lines and `#` comments skipped.
pub fn load_id_list(path: &Path) -> Result<BTreeSet<String>, SwebenchError> {
    let text = fs_err::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

pub(crate) fn load_records<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, SwebenchError> {
    let text = fs_err::read_to_string(path)?;
    let is_json_list =
        path.extension().is_some_and(|extension| extension == "json") || text.trim_start().starts_with('[');
    if is_json_list {
        return serde_json::from_str(&text).map_err(|source| SwebenchError::Json { path: path.to_owned(), source });
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| SwebenchError::JsonLine {
                path: path.to_owned(),
                line: index + 1,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "dataset_tests.rs"]
mod tests;
