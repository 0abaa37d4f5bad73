//! The predictions.jsonl an inference run appends to: one line per finished instance, synced, so a crash loses at
//! most the instance in flight and a rerun skips what is there; and the merge of shards' files.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::predictions::{Prediction, Predictions};
use crate::{Instance, SwebenchError};

/// The file's name in an inference output folder.
pub const PREDICTIONS_FILE: &str = "predictions.jsonl";

/// An inference run's predictions file.
#[derive(Debug, Clone)]
pub struct PredictionsFile {
    path: PathBuf,
}

impl PredictionsFile {
    /// `predictions.jsonl` in the output folder `out`.
    pub fn in_folder(out: &Path) -> Self {
        Self { path: out.join(PREDICTIONS_FILE) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The predictions already written, later lines winning (a torn last line, from a crash, is skipped).
    pub fn read(&self) -> Result<Predictions, SwebenchError> {
        if !self.path.is_file() {
            return Ok(Predictions::default());
        }
        Ok(readable_lines(&self.path)?.0.into_iter().collect())
    }

    /// The instances without a prediction yet, and how many have one.
    pub fn pending(&self, instances: &[Instance]) -> Result<(Vec<Instance>, usize), SwebenchError> {
        let finished = self.read()?;
        let pending: Vec<Instance> =
            instances.iter().filter(|instance| finished.get(&instance.instance_id).is_none()).cloned().collect();
        let finished_count = instances.len() - pending.len();
        Ok((pending, finished_count))
    }

    /// One prediction appended as a line, flushed and synced.
    pub fn append(&self, prediction: &Prediction) -> Result<(), SwebenchError> {
        let mut file = fs_err::OpenOptions::new().create(true).append(true).open(&self.path)?;
        // A torn line from a crash is closed first so it stays one unreadable line.
        if fs_err::metadata(&self.path)?.len() > 0 && fs_err::read(&self.path)?.last() != Some(&b'\n') {
            file.write_all(b"\n")?;
        }
        let line = serde_json::to_string(prediction)
            .map_err(|source| SwebenchError::Json { path: self.path.clone(), source })?;
        file.write_all(format!("{line}\n").as_bytes())?;
        file.sync_all()?;
        Ok(())
    }
}

/// The readable predictions of a JSONL file and the number of unreadable lines.
fn readable_lines(path: &Path) -> Result<(Vec<Prediction>, usize), SwebenchError> {
    let text = fs_err::read_to_string(path)?;
    let mut unreadable = 0;
    let predictions = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| match serde_json::from_str::<Prediction>(line) {
            Ok(prediction) => Some(prediction),
            Err(error) => {
                tracing::warn!("{}: skipped an unreadable line: {error}", path.display());
                unreadable += 1;
                None
            }
        })
        .collect();
    Ok((predictions, unreadable))
}

/// How many predictions each shard gave to a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardCount {
    pub path: PathBuf,
    pub predictions: usize,
}

/// Join shards (output folders or predictions files) into `out`, sorted by instance id; on a duplicate the later
/// shard wins, by [`Predictions`]' own rule.
pub fn merge_shards(shards: &[PathBuf], out: &Path) -> Result<(Predictions, Vec<ShardCount>), SwebenchError> {
    let mut counts = Vec::new();
    let mut all = Vec::new();
    for shard in shards {
        let path = if shard.is_dir() { shard.join(PREDICTIONS_FILE) } else { shard.clone() };
        let (predictions, _) = readable_lines(&path)?;
        counts.push(ShardCount { path, predictions: predictions.len() });
        all.extend(predictions);
    }
    let merged: Predictions = all.into_iter().collect();
    let mut sorted: Vec<&Prediction> = merged.iter().collect();
    sorted.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    let mut text = String::new();
    for prediction in sorted {
        let line =
            serde_json::to_string(prediction).map_err(|source| SwebenchError::Json { path: out.to_owned(), source })?;
        text.push_str(&line);
        text.push('\n');
    }
    if let Some(parent) = out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(out, text)?;
    Ok((merged, counts))
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn prediction(id: &str) -> Prediction {
        Prediction {
            instance_id: id.to_owned(),
            model_name_or_path: "m".to_owned(),
            model_patch: Some("diff".to_owned()),
        }
    }

    #[test]
    fn resume_skips_finished_instances_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = PredictionsFile::in_folder(dir.path());
        file.append(&prediction("a")).unwrap();
        let written = fs_err::read_to_string(file.path()).unwrap();
        fs_err::write(file.path(), format!("{written}{{\"instance_id\": \"b\", \"mod")).unwrap();
        file.append(&prediction("c")).unwrap();
        let finished = file.read().unwrap();
        assert_eq!(finished.iter().map(|p| p.instance_id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        let instances: Vec<Instance> = ["a", "b", "c"].iter().map(|id| crate::infer::tests::instance(id)).collect();
        let (pending, finished) = file.pending(&instances).unwrap();
        assert_eq!((pending.iter().map(|i| i.instance_id.as_str()).collect::<Vec<_>>(), finished), (vec!["b"], 2));
    }

    #[test]
    fn merge_keeps_the_last_prediction_per_instance() {
        let dir = tempfile::tempdir().unwrap();
        for (shard, lines) in [
            ("s1", "{\"instance_id\": \"b\", \"model_patch\": \"old\"}\n"),
            (
                "s2",
                "{\"instance_id\": \"a\", \"model_patch\": \"x\"}\n{\"instance_id\": \"b\", \"model_patch\": \"new\"}\n",
            ),
        ] {
            fs_err::create_dir_all(dir.path().join(shard)).unwrap();
            fs_err::write(dir.path().join(shard).join(PREDICTIONS_FILE), lines).unwrap();
        }
        let out = dir.path().join("all.jsonl");
        let (_, counts) = merge_shards(&[dir.path().join("s1"), dir.path().join("s2")], &out).unwrap();
        assert_eq!(counts.iter().map(|count| count.predictions).collect::<Vec<_>>(), [1, 2]);
        let merged = Predictions::from_file(&out).unwrap();
        assert_eq!(merged.iter().map(|p| p.instance_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(merged.get("b").unwrap().model_patch.as_deref(), Some("new"));
    }
}
