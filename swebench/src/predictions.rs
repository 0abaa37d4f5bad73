//! Predictions: `{instance_id, model_name_or_path, model_patch}` from a JSONL file, a JSON list or a JSON object keyed
//! by instance id, plus the `gold` (the dataset's own patch) and `empty` pseudo-predictions.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::SwebenchError;
use crate::dataset::{Instance, load_records};

/// The model name SWE-bench gives the gold pseudo-predictions.
pub const GOLD_MODEL_NAME: &str = "gold";
pub const EMPTY_MODEL_NAME: &str = "empty";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    pub instance_id: String,
    #[serde(default)]
    pub model_name_or_path: String,
    /// `None` is SWE-bench's `patch_is_None`; `None` and `""` both count as an empty patch that is not run.
    #[serde(default)]
    pub model_patch: Option<String>,
}

impl Prediction {
    pub fn is_empty_patch(&self) -> bool {
        self.model_patch.as_deref().is_none_or(str::is_empty)
    }

    /// The per-model log folder name: `/` becomes `__`.
    pub fn model_dir_name(&self) -> String {
        self.model_name_or_path.replace('/', "__")
    }
}

/// Where predictions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredictionSource<'a> {
    Gold,
    Empty,
    File(&'a Path),
}

impl<'a> PredictionSource<'a> {
    /// `gold`, `empty`, or a path.
    pub fn parse(text: &'a str) -> Self {
        match text {
            GOLD_MODEL_NAME => PredictionSource::Gold,
            EMPTY_MODEL_NAME => PredictionSource::Empty,
            path => PredictionSource::File(Path::new(path)),
        }
    }
}

/// Predictions keyed by instance id, in file order (a later duplicate replaces an earlier one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Predictions {
    by_id: IndexMap<String, Prediction>,
}

impl Predictions {
    pub fn load(source: &PredictionSource<'_>, instances: &[Instance]) -> Result<Self, SwebenchError> {
        match source {
            PredictionSource::Gold => {
                Ok(Self::from_instances(instances, GOLD_MODEL_NAME, |instance| Some(instance.patch.clone())))
            }
            PredictionSource::Empty => Ok(Self::from_instances(instances, EMPTY_MODEL_NAME, |_| Some(String::new()))),
            PredictionSource::File(path) => Self::from_file(path),
        }
    }

    fn from_instances(instances: &[Instance], model: &str, patch: impl Fn(&Instance) -> Option<String>) -> Self {
        instances
            .iter()
            .map(|instance| Prediction {
                instance_id: instance.instance_id.clone(),
                model_name_or_path: model.to_owned(),
                model_patch: patch(instance),
            })
            .collect()
    }

    pub fn from_file(path: &Path) -> Result<Self, SwebenchError> {
        let text = fs_err::read_to_string(path)?;
        if text.trim_start().starts_with('{') && path.extension().is_none_or(|extension| extension != "jsonl") {
            let keyed: IndexMap<String, Prediction> =
                serde_json::from_str(&text).map_err(|source| SwebenchError::Json { path: path.to_owned(), source })?;
            return Ok(keyed.into_values().collect());
        }
        Ok(load_records::<Prediction>(path)?.into_iter().collect())
    }

    pub fn get(&self, instance_id: &str) -> Option<&Prediction> {
        self.by_id.get(instance_id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Prediction> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Ids with a prediction that are not in the dataset.
    pub fn unknown_ids(&self, instances: &[Instance]) -> Vec<String> {
        self.by_id.keys().filter(|id| !instances.iter().any(|instance| &instance.instance_id == *id)).cloned().collect()
    }
}

impl FromIterator<Prediction> for Predictions {
    fn from_iter<I: IntoIterator<Item = Prediction>>(predictions: I) -> Self {
        Self { by_id: predictions.into_iter().map(|prediction| (prediction.instance_id.clone(), prediction)).collect() }
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn three_file_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let a = r#"{"instance_id": "a", "model_name_or_path": "org/m", "model_patch": "diff"}"#;
        let b = r#"{"instance_id": "b", "model_name_or_path": "org/m", "model_patch": null}"#;
        fs_err::write(dir.path().join("p.jsonl"), format!("{a}\n{b}\n")).unwrap();
        fs_err::write(dir.path().join("p.json"), format!("[{a}, {b}]")).unwrap();
        fs_err::write(dir.path().join("k.json"), format!("{{\"a\": {a}, \"b\": {b}}}")).unwrap();
        let lines = Predictions::from_file(&dir.path().join("p.jsonl")).unwrap();
        assert_eq!(lines, Predictions::from_file(&dir.path().join("p.json")).unwrap());
        assert_eq!(lines, Predictions::from_file(&dir.path().join("k.json")).unwrap());
        assert_eq!(lines.get("a").unwrap().model_dir_name(), "org__m");
        assert!(lines.get("b").unwrap().is_empty_patch());
        assert!(!lines.get("a").unwrap().is_empty_patch());
    }
}
