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

/// How a [`Replayer`] answers a request that no recorded request is identical to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMatching {
    /// With the next unused record of the same stage, and a warning (demos survive a changed prompt).
    ByStage,
    /// Not at all: [`ModelError::ReplayMismatch`] names the stage and where the prompt departs from the closest
    /// recorded one (tests fail on a stale transcript).
    Identical,
}

/// Answers requests from a recorded transcript: the entry with an identical request first (an unused one, else a
/// used one), else what its [`ReplayMatching`] says.
#[derive(Debug)]
pub struct Replayer {
    path: PathBuf,
    matching: ReplayMatching,
    entries: Vec<TranscriptEntry>,
    used: Mutex<Vec<bool>>,
}

/// Characters of the prompt shown on each side of the first difference in a [`ModelError::ReplayMismatch`].
const EXCERPT_CHARS: usize = 60;

impl Replayer {
    pub fn open(path: &Path, matching: ReplayMatching) -> Result<Self, ModelError> {
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
        Ok(Self { path: path.to_path_buf(), matching, entries, used })
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
        let identical_entry =
            indices.clone().filter(identical).find(unused).or_else(|| indices.clone().find(identical));
        let chosen = match (identical_entry, self.matching) {
            (Some(index), ReplayMatching::ByStage | ReplayMatching::Identical) => Some(index),
            (None, ReplayMatching::Identical) => {
                return Err(ModelError::ReplayMismatch {
                    path: self.path.clone(),
                    stage: request.stage.clone(),
                    difference: self.closest_difference(request),
                });
            }
            (None, ReplayMatching::ByStage) => {
                let index = indices.clone().filter(unused).find(|index| self.entries[*index].stage == request.stage);
                if let Some(index) = index {
                    tracing::warn!(
                        "replay: no recorded {} request has this prompt; answering with line {} of `{}`",
                        request.stage,
                        index + 1,
                        self.path.display()
                    );
                }
                index
            }
        };
        let Some(index) = chosen else {
            return Err(ModelError::ReplayMiss { path: self.path.clone(), stage: request.stage.clone() });
        };
        used[index] = true;
        let recorded = &self.entries[index].completion;
        Ok(Completion { samples: recorded.samples.clone(), usage: recorded.usage, cost_usd: 0.0, from_cache: true })
    }

    /// Where `request` departs from the recorded request of its stage that shares the longest prompt prefix with
    /// it: the line of that record and an excerpt of both prompts around the first difference (or the field that
    /// differs when the prompts are equal).
    fn closest_difference(&self, request: &ChatRequest) -> String {
        let shared_prefix = |recorded: &str| {
            recorded.chars().zip(request.prompt.chars()).take_while(|(left, right)| left == right).count()
        };
        let closest = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.stage == request.stage)
            .max_by_key(|(index, entry)| (shared_prefix(&entry.request.prompt), std::cmp::Reverse(*index)));
        let Some((index, entry)) = closest else {
            return format!(
                "no {} request was recorded; prompt starts «{}»",
                request.stage,
                excerpt(&request.prompt, 0)
            );
        };
        let recorded = &entry.request;
        if recorded.prompt != request.prompt {
            let at = shared_prefix(&recorded.prompt);
            return format!(
                "the prompt departs from recorded call {}'s at character {at}: «{}» where it recorded «{}»",
                index + 1,
                excerpt(&request.prompt, at),
                excerpt(&recorded.prompt, at)
            );
        }
        let field = if recorded.system != request.system {
            "system message"
        } else if recorded.samples != request.samples {
            "sample count"
        } else if recorded.temperature != request.temperature {
            "temperature"
        } else if recorded.max_tokens != request.max_tokens {
            "max_tokens"
        } else {
            "sample key"
        };
        format!("the prompt equals recorded call {}'s but the {field} differs", index + 1)
    }
}

/// Up to [`EXCERPT_CHARS`] characters on each side of character `at` of `text`, with `…` where it was cut.
fn excerpt(text: &str, at: usize) -> String {
    let start = at.saturating_sub(EXCERPT_CHARS);
    let total = text.chars().count();
    let body: String = text.chars().skip(start).take(2 * EXCERPT_CHARS).collect();
    let head = if start > 0 { "…" } else { "" };
    let tail = if start + 2 * EXCERPT_CHARS < total { "…" } else { "" };
    format!("{head}{body}{tail}")
}
