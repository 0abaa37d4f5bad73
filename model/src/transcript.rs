//! Record and replay: every call appended to a JSONL transcript (`{"stage", "request", "completion"}`, never a
//! key or a header), and a [`Replayer`] that answers requests from such a file without any network.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::{ChatRequest, Completion, ModelError};

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub stage: String,
    pub request: ChatRequest,
    pub completion: Completion,
}

/// Appends entries to a transcript file, one whole line per write, safe to share between tasks.
#[derive(Debug)]
pub struct TranscriptWriter {
    path: PathBuf,
    file: Mutex<fs_err::File>,
}

impl TranscriptWriter {
    /// Open `path` for appending, creating it (and its directory) when missing.
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            fs_err::create_dir_all(parent).map_err(|source| ModelError::Io { path: parent.to_path_buf(), source })?;
        }
        let file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| ModelError::Io { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    pub fn append(&self, request: &ChatRequest, completion: &Completion) -> Result<(), ModelError> {
        let entry =
            TranscriptEntry { stage: request.stage.clone(), request: request.clone(), completion: completion.clone() };
        let mut line = serde_json::to_vec(&entry).map_err(ModelError::Encode)?;
        line.push(b'\n');
        // A poisoned lock only means another task panicked between whole-line writes.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line).map_err(|source| ModelError::Io { path: self.path.clone(), source })
    }
}

/// Answers requests from a recorded transcript: the entry with an identical request first, else the next
/// unused entry of the same stage in file order (with a warning), else [`ModelError::ReplayMiss`].
#[derive(Debug)]
pub struct Replayer {
    path: PathBuf,
    entries: Vec<TranscriptEntry>,
    used: Mutex<Vec<bool>>,
}

impl Replayer {
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let text =
            fs_err::read_to_string(path).map_err(|source| ModelError::Io { path: path.to_path_buf(), source })?;
        let entries = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str(line).map_err(|source| ModelError::TranscriptLine {
                    path: path.to_path_buf(),
                    line: index + 1,
                    source,
                })
            })
            .collect::<Result<Vec<TranscriptEntry>, _>>()?;
        let used = Mutex::new(vec![false; entries.len()]);
        Ok(Self { path: path.to_path_buf(), entries, used })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded completion, marked `from_cache` at no cost.
    pub fn answer(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        let identical = |index: &usize| self.entries[*index].request == *request;
        let unused = |index: &usize| !used[*index];
        let indices = 0..self.entries.len();
        let chosen =
            indices.clone().filter(identical).find(unused).or_else(|| indices.clone().find(identical)).or_else(|| {
                let index = indices.clone().filter(unused).find(|index| self.entries[*index].stage == request.stage)?;
                tracing::warn!(
                    "replay: no recorded {} request has this prompt; answering with line {} of `{}`",
                    request.stage,
                    index + 1,
                    self.path.display()
                );
                Some(index)
            });
        let Some(index) = chosen else {
            return Err(ModelError::ReplayMiss { path: self.path.clone(), stage: request.stage.clone() });
        };
        used[index] = true;
        let recorded = &self.entries[index].completion;
        Ok(Completion { samples: recorded.samples.clone(), usage: recorded.usage, cost_usd: 0.0, from_cache: true })
    }
}
