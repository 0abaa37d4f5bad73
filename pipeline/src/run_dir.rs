//! The run directory: every artifact written atomically, and read back on resume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::PipelineError;

/// The artifacts of one run, by name, under one folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    /// Finished stages are read back instead of redone.
    resume: bool,
}

impl RunDir {
    pub const LOCATIONS: &'static str = "locations.json";
    pub const CANDIDATES: &'static str = "candidates.jsonl";
    pub const VALIDATION: &'static str = "validation.json";
    pub const REPORT_JSON: &'static str = "report.json";
    pub const REPORT_MD: &'static str = "report.md";
    pub const FINAL_DIFF: &'static str = "final.diff";
    /// What the run's results depend on (the issue, the repository revision, the model, the settings), checked
    /// on resume.
    pub const INPUTS: &'static str = "inputs.json";
    /// The sandbox's setup: every step's output, or a failed step's whole output.
    /// Model usage and wall time per stage, summed over the processes that worked on the run.
    pub const SPEND: &'static str = "spend.json";
    pub const SETUP_LOG: &'static str = "logs/setup.log";
    /// The whole output of the test run on the original (the regression baseline).
    pub const BASELINE_LOG: &'static str = "logs/baseline.log";

    pub fn new(root: impl Into<PathBuf>, resume: bool) -> Self {
        Self { root: root.into(), resume }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// `logs/NAME`.
    pub fn log(&self, name: &str) -> PathBuf {
        self.root.join("logs").join(name)
    }

    /// The files under `logs/` as paths relative to the run directory (`logs/baseline.log`, what the report links
    /// to), in name order with numbers compared as numbers (`patch-2.log` before `patch-10.log`).
    pub fn logs(&self) -> Result<Vec<String>, PipelineError> {
        let folder = self.root.join("logs");
        if !folder.is_dir() {
            return Ok(Vec::new());
        }
        let mut names = Vec::new();
        for entry in fs_err::read_dir(&folder)? {
            let entry = entry?;
            if entry.file_type()?.is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                names.push(name.to_owned());
            }
        }
        names.sort_by_cached_key(|name| natural_key(name));
        Ok(names.into_iter().map(|name| format!("logs/{name}")).collect())
    }

    /// Whether a finished run (its report) is here.
    pub fn is_finished(&self) -> bool {
        self.path(Self::REPORT_JSON).is_file()
    }

    /// Whether validation finished in an earlier try (a resumed run will not need sandboxes).
    pub fn validation_finished(&self) -> bool {
        self.resume && self.path(Self::VALIDATION).is_file()
    }

    pub fn create(&self) -> Result<(), PipelineError> {
        fs_err::create_dir_all(self.root.join("logs"))?;
        Ok(())
    }

    /// Resuming: refuse when `inputs` differ from those the run was started with, naming what changed (a run
    /// directory from before this check has none and is taken as it is). Then record `inputs`.
    pub(crate) fn check_inputs(&self, inputs: &BTreeMap<&'static str, String>) -> Result<(), PipelineError> {
        let path = self.path(Self::INPUTS);
        if self.resume && path.is_file() {
            let recorded: BTreeMap<String, String> = serde_json::from_str(&fs_err::read_to_string(&path)?)
                .map_err(|source| PipelineError::Resume { path: path.clone(), source })?;
            let changed: Vec<String> = inputs
                .keys()
                .map(|key| (*key).to_owned())
                .chain(recorded.keys().cloned())
                .collect::<std::collections::BTreeSet<String>>()
                .into_iter()
                .filter(|key| inputs.get(key.as_str()) != recorded.get(key))
                .collect();
            if !changed.is_empty() {
                return Err(PipelineError::ResumeChanged { run_dir: self.root.clone(), changed });
            }
        }
        self.write_json(Self::INPUTS, inputs)
    }

    /// The JSON artifact `name` when resuming and it exists.
    pub(crate) fn resumed<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, PipelineError> {
        let path = self.path(name);
        if !self.resume || !path.is_file() {
            return Ok(None);
        }
        let value = serde_json::from_str(&fs_err::read_to_string(&path)?)
            .map_err(|source| PipelineError::Resume { path: path.clone(), source })?;
        tracing::info!("resumed {}", path.display());
        Ok(Some(value))
    }

    /// The JSON-lines artifact `name` when resuming and it exists.
    pub(crate) fn resumed_lines<T: DeserializeOwned>(&self, name: &str) -> Result<Option<Vec<T>>, PipelineError> {
        let path = self.path(name);
        if !self.resume || !path.is_file() {
            return Ok(None);
        }
        let text = fs_err::read_to_string(&path)?;
        let rows = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<T>, _>>()
            .map_err(|source| PipelineError::Resume { path: path.clone(), source })?;
        tracing::info!("resumed {}", path.display());
        Ok(Some(rows))
    }

    /// Pretty JSON, atomically (temp file, then rename), so an interrupted run never leaves half a file.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> Result<(), PipelineError> {
        let mut text = serde_json::to_string_pretty(value).map_err(PipelineError::Serialize)?;
        text.push('\n');
        self.write_atomically(name, &text)
    }

    /// One JSON object per line, atomically.
    pub fn write_lines<T: Serialize>(&self, name: &str, rows: &[T]) -> Result<(), PipelineError> {
        let mut text = String::new();
        for row in rows {
            text.push_str(&serde_json::to_string(row).map_err(PipelineError::Serialize)?);
            text.push('\n');
        }
        self.write_atomically(name, &text)
    }

    fn write_atomically(&self, name: &str, text: &str) -> Result<(), PipelineError> {
        let path = self.path(name);
        let tmp = self.path(&format!("{name}.tmp"));
        fs_err::write(&tmp, text)?;
        fs_err::rename(&tmp, &path)?;
        Ok(())
    }
}

/// `name` split into text and numbers, so that numbers sort by value.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for character in name.chars() {
        if character.is_ascii_digit() {
            digits.push(character);
        } else {
            if !digits.is_empty() {
                key.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
                digits.clear();
            }
            text.push(character);
        }
    }
    key.push((text, digits.parse().unwrap_or(0)));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_are_listed_relative_with_numbers_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = RunDir::new(dir.path(), false);
        assert_eq!(run_dir.logs().unwrap(), Vec::<String>::new(), "no logs/ folder yet");
        run_dir.create().unwrap();
        for name in ["patch-10.log", "patch-2.log", "baseline.log", "patch-1.log"] {
            fs_err::write(run_dir.log(name), "").unwrap();
        }
        fs_err::create_dir(run_dir.log("folder")).unwrap();
        assert_eq!(
            run_dir.logs().unwrap(),
            ["logs/baseline.log", "logs/patch-1.log", "logs/patch-2.log", "logs/patch-10.log"]
        );
    }
}
