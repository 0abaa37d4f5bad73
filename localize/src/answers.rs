//! Lenient reading of the model's answers: file lists, folder lists, fenced blocks and per-file location lines.
//!
//! The original matches whole lines exactly and needs a bare ```` ``` ```` fence; here list markers, backticks,
//! quotes, `./` and trailing punctuation are tolerated, any fence counts (```` ```python ````, ```` ```text ````),
//! and an answer without a fence is read whole. Only paths of the snapshot are ever accepted.

use std::collections::HashSet;

use indexmap::IndexMap;

use crate::spans::{LocLine, strip_list_marker};

/// `{file: [newline-joined location lines]}`, in the order the model named the files: Agentless's
/// `found_related_locs` and `found_edit_locs` samples.
pub type FileLocs = IndexMap<String, Vec<String>>;

/// One line of an answer reduced to the path it may name: surrounding whitespace, list markers, headings, a
/// `File:` label, emphasis, backticks, quotes, `./` and trailing `:`/`,`/`.` go.
pub fn clean_path_line(line: &str) -> &str {
    let mut text = strip_list_marker(line.trim()).trim_start_matches('#').trim();
    if let Some(label) = text.get(..5)
        && label.eq_ignore_ascii_case("file:")
    {
        text = text[5..].trim_start();
    }
    loop {
        let before = text;
        text = text.trim_matches(|c: char| matches!(c, '`' | '"' | '\'' | '*')).trim_end_matches([':', ',']).trim();
        if let Some(rest) = text.strip_prefix("./") {
            text = rest;
        }
        if text.ends_with('.') && !text.ends_with("..") {
            text = &text[..text.len() - 1];
        }
        if text == before {
            return text;
        }
    }
}

/// The candidate paths named by an answer, one per line, in order, deduplicated, at most `limit`.
/// `repo_name/` in front of a path (a common slip) is tolerated.
pub fn parse_file_list(answer: &str, candidates: &HashSet<&str>, repo_name: &str, limit: usize) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in answer.lines() {
        if found.len() >= limit {
            break;
        }
        let Some(path) = known_path(clean_path_line(line), candidates, repo_name) else { continue };
        if !found.iter().any(|seen| seen == path) {
            found.push(path.to_owned());
        }
    }
    found
}

fn known_path<'a>(path: &'a str, candidates: &HashSet<&str>, repo_name: &str) -> Option<&'a str> {
    if candidates.contains(path) {
        return Some(path);
    }
    let stripped = path.strip_prefix(repo_name)?.strip_prefix('/')?;
    candidates.contains(stripped).then_some(stripped)
}

/// The folders and files an irrelevant-folder answer names: lines ending in `/` or `.py`, deduplicated.
pub fn parse_folder_list(answer: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in answer.lines() {
        let path = clean_path_line(line);
        let is_folder_or_file = (path.ends_with('/') && path.len() > 1) || path.ends_with(".py");
        if is_folder_or_file && !path.contains(' ') && !found.iter().any(|seen| seen == path) {
            found.push(path.to_owned());
        }
    }
    found
}

/// The contents of every fenced block (any language tag); an unclosed fence runs to the end; an answer with no
/// fence at all is one block.
pub fn extract_code_blocks(answer: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    let mut saw_fence = false;
    for line in answer.lines() {
        if line.trim_start().starts_with("```") {
            saw_fence = true;
            match current.take() {
                Some(lines) => blocks.push(lines.join("\n")),
                None => current = Some(Vec::new()),
            }
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some(lines) = current {
        blocks.push(lines.join("\n"));
    }
    if !saw_fence {
        blocks.push(answer.to_owned());
    }
    blocks
}

/// Agentless's `extract_locs_for_files`: a line naming a path sets the current file; location lines that follow
/// are kept (normalized) when that file is one of `files`. Files appear in the order the answer names them,
/// then the rest of `files` with an empty string; each value is one newline-joined string.
pub fn locs_for_files(blocks: &[String], files: &[String], repo_name: &str) -> FileLocs {
    let candidates: HashSet<&str> = files.iter().map(String::as_str).collect();
    let mut found: IndexMap<String, Vec<String>> = IndexMap::new();
    let mut current: Option<&str> = None;
    for line in blocks.iter().flat_map(|block| block.lines()) {
        if let Some(loc) = LocLine::parse(line) {
            if let Some(file) = current {
                found.entry(file.to_owned()).or_default().push(loc.render());
            }
            continue;
        }
        let path = clean_path_line(line);
        if path.ends_with(".py") {
            current = known_path(path, &candidates, repo_name);
        }
    }
    for file in files {
        found.entry(file.clone()).or_default();
    }
    found.into_iter().map(|(file, lines)| (file, vec![lines.join("\n")])).collect()
}

#[cfg(test)]
#[path = "answers_tests.rs"]
mod tests;
