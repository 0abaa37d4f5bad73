//! The code shown to the model for one location sample (Agentless's `construct_topn_file_context`): for each of
//! the top files that has edit locations, the lines around them (±context window, merged), without line numbers,
//! `...` between segments, under a `### path` header.

use std::ops::Range;

use agentless_localize::answers::FileLocs;
use agentless_localize::spans::{LineSpan, SourceFile};
use agentless_syntax::{RepoSnapshot, SourceError};

/// One file as the model saw it.
#[derive(Debug, Clone)]
pub struct ShownFile {
    pub path: String,
    pub source: SourceFile,
    /// Sorted, disjoint, 1-based inclusive.
    pub spans: Vec<LineSpan>,
}

impl ShownFile {
    pub fn new(path: String, text: String, spans: Vec<LineSpan>) -> Self {
        Self { path, source: SourceFile::new(text), spans }
    }

    /// The spans as 0-based, half-open line ranges.
    pub fn line_ranges(&self) -> Vec<Range<usize>> {
        self.spans.iter().map(|span| span.start.saturating_sub(1)..span.end).collect()
    }
}

/// Every file shown for one location sample, in the order the edit-location answer names them (the original
/// iterates `found_edit_locs`, which keeps the answer's order).
#[derive(Debug, Clone, Default)]
pub struct RepairContext {
    pub files: Vec<ShownFile>,
}

impl RepairContext {
    /// The files of `locs`, in its order, that are among `found_files[..top_n]` and whose locations resolve to
    /// lines, with their spans widened by `context_window`. A top file missing from the snapshot or not UTF-8 is left out.
    pub fn build(
        snapshot: &RepoSnapshot,
        found_files: &[String],
        locs: &FileLocs,
        top_n: usize,
        context_window: usize,
    ) -> Result<Self, SourceError> {
        let mut files = Vec::new();
        let top_files = &found_files[..top_n.min(found_files.len())];
        for (path, file_locs) in locs {
            if !top_files.contains(path) || file_locs.iter().all(|loc| loc.trim().is_empty()) {
                continue;
            }
            let text = match snapshot.read_text(path) {
                Ok(text) => text,
                Err(error @ (SourceError::NoSuchFile { .. } | SourceError::NotUtf8 { .. })) => {
                    tracing::warn!(%path, %error, "top file left out of the repair context");
                    continue;
                }
                Err(error) => return Err(error),
            };
            let source = SourceFile::new(text);
            let spans = source.context_spans(file_locs, context_window);
            if !spans.is_empty() {
                files.push(ShownFile { path: path.clone(), source, spans });
            }
        }
        Ok(Self { files })
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn file(&self, path: &str) -> Option<&ShownFile> {
        self.files.iter().find(|file| file.path == path)
    }

    /// The `content` of the repair prompt: `### path` and the segments of every file, trailing space trimmed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            out.push_str(&format!("### {}\n{}\n\n\n", file.path, file.source.render_segments(&file.spans, false)));
        }
        out.trim_end().to_owned()
    }
}
