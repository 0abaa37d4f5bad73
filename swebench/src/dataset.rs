//! SWE-bench datasets: instances in the upstream JSONL / JSON-list format, the named datasets in the shared data
//! folder (`lite`, `lite-dev`, `verified`, `lite-s`) and the per-instance harness metadata (which log parser).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::SwebenchError;
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

    pub fn dataset_file(&self, name: DatasetName) -> PathBuf {
        self.path.join(format!("{}.jsonl", name.file_stem()))
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
    /// `.jsonl`/`.json` file (whose `<stem>.harness-meta.jsonl` sibling is read when present).
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

    /// A `.jsonl`/`.json` file in SWE-bench's format (and its `<stem>.harness-meta.jsonl` sibling when present).
    pub fn load_file(path: &Path) -> Result<Self, SwebenchError> {
        let instances = load_instances(path)?;
        let stem = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        let stem = stem.strip_suffix(".jsonl").or_else(|| stem.strip_suffix(".json")).unwrap_or(stem);
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
                let ids_path = data_dir.path().join(LITE_S_IDS_FILE);
                let keep = load_id_list(&ids_path)?;
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

/// Rows from a `.jsonl` file (one object per line) or a `.json` file (a list of objects).
pub fn load_instances(path: &Path) -> Result<Vec<Instance>, SwebenchError> {
    load_records(path)
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
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    const ROW: &str = r#"{"instance_id": "o__r-1", "repo": "o/r", "base_commit": "abc", "patch": "p", "test_patch": "t",
        "problem_statement": "s", "hints_text": "", "created_at": "2020", "version": "1.0",
        "FAIL_TO_PASS": "[\"test_a\", \"test_b (m.C)\"]", "PASS_TO_PASS": [], "environment_setup_commit": "def",
        "difficulty": "<15 min fix"}"#;

    #[test]
    fn encoded_and_decoded_test_lists() {
        let instance: Instance = serde_json::from_str(ROW).unwrap();
        assert_eq!(instance.fail_to_pass, vec!["test_a", "test_b (m.C)"]);
        assert!(instance.pass_to_pass.is_empty());
    }

    #[test]
    fn json_list_and_jsonl_load_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let one_line = ROW.replace('\n', " ");
        fs_err::write(dir.path().join("d.jsonl"), format!("{one_line}\n\n{one_line}\n")).unwrap();
        fs_err::write(dir.path().join("d.json"), format!("[{ROW}, {ROW}]")).unwrap();
        let from_lines = load_instances(&dir.path().join("d.jsonl")).unwrap();
        let from_list = load_instances(&dir.path().join("d.json")).unwrap();
        assert_eq!(from_lines.len(), 2);
        assert_eq!(from_lines, from_list);
    }

    #[test]
    fn bad_line_names_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let one_line = ROW.replace('\n', " ");
        fs_err::write(dir.path().join("d.jsonl"), format!("{one_line}\n{{\"instance_id\": 1}}\n")).unwrap();
        let error = load_instances(&dir.path().join("d.jsonl")).unwrap_err();
        assert!(matches!(error, SwebenchError::JsonLine { line: 2, .. }), "{error}");
    }

    #[test]
    fn discover_walks_up_to_a_sibling_shared_data() {
        let root = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(root.path().join("shared/data")).unwrap();
        fs_err::create_dir_all(root.path().join("main/crate/src")).unwrap();
        let found = DataDir::discover(&root.path().join("main/crate/src")).unwrap();
        assert_eq!(found.path(), root.path().join("shared/data"));
    }

    #[test]
    fn names_round_trip() {
        for name in DatasetName::ALL {
            assert_eq!(name.as_str().parse::<DatasetName>().unwrap(), name);
        }
        assert!("lite_s".parse::<DatasetName>().is_err());
    }
}
