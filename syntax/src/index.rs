//! The index of a whole snapshot: every Python file's structure and skeleton, parsed in parallel and cached by
//! content hash.
//!
//! Each file is read once by the scanner ([`scan`](crate::scan)), which gives its structure and skeleton from one
//! statement tree; a file the scanner is unsure about (syntax errors, rare constructs) is parsed by tree-sitter
//! instead, its structure and skeleton coming from the same tree. Both give the same results on the files the scanner
//! accepts (where they differ, tree-sitter departs from CPython). The cache is one file per repository name under
//! `cache_dir` ([`cache`](crate::cache)), keyed by the git blob id of each file's content: for a git revision the id is
//! known without reading the file, so a warm run reads one cache file and no blob.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::cache::{CacheEntry, ContentKey, IndexCache};
use crate::outline::scan_file;
use crate::parse::{LineStarts, with_tree};
use crate::skeleton::{SkeletonOptions, skeleton_of};
use crate::source::{RepoSnapshot, SourceError};
use crate::structure::{FileStructure, structure_of};

#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// Where parsed files are cached by content hash; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Also build the skeleton of every file.
    pub skeletons: bool,
    /// Keep each file's lines (`text`) in the structure, for the Agentless JSON layout.
    pub keep_text: bool,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IndexStats {
    pub files: usize,
    pub lines: usize,
    pub classes: usize,
    pub methods: usize,
    pub functions: usize,
    /// Files with at least one ERROR or MISSING node, plus files that are not UTF-8.
    pub parse_errors: usize,
    pub cached_files: usize,
    pub seconds: f64,
}

pub struct IndexedFile {
    pub structure: FileStructure,
    pub skeleton: Option<String>,
    /// `None` when the file is not UTF-8.
    pub text: Option<Vec<String>>,
    /// The file is not UTF-8: it was not parsed and its structure is empty (as in Agentless).
    pub not_utf8: bool,
    /// The number of lines of the file.
    pub lines: usize,
}

pub struct RepoIndex {
    pub files: BTreeMap<String, IndexedFile>,
    pub stats: IndexStats,
    /// Whether lines were kept (`IndexOptions::keep_text`): then every `.py` file gets a `text` in the layout.
    kept_text: bool,
}

impl RepoIndex {
    pub fn build(snapshot: &RepoSnapshot, options: &IndexOptions) -> Result<Self, SourceError> {
        let started = Instant::now();
        let cache = options.cache_dir.as_deref().map(|dir| IndexCache::load(dir, snapshot.name()));
        let empty = IndexCache::default();
        let known = cache.as_ref().unwrap_or(&empty);
        let paths: Vec<&str> = snapshot.python_files().collect();
        let indexed: Vec<(ContentKey, IndexedFile, bool)> =
            paths.par_iter().map(|path| index_file(snapshot, path, known, options)).collect::<Result<_, _>>()?;

        let mut stats = IndexStats::default();
        let mut files = BTreeMap::new();
        let mut fresh = Vec::new();
        let mut used = Vec::with_capacity(indexed.len());
        for (path, (key, file, from_cache)) in paths.into_iter().zip(indexed) {
            stats.files += 1;
            stats.lines += file.lines;
            stats.classes += file.structure.classes.len();
            stats.methods += file.structure.classes.iter().map(|class| class.methods.len()).sum::<usize>();
            stats.functions += file.structure.functions.len();
            stats.parse_errors += usize::from(file.structure.parse_errors > 0 || file.not_utf8);
            stats.cached_files += usize::from(from_cache);
            if !from_cache {
                fresh.push((key, CacheEntry::of(&file)));
            }
            used.push(key);
            files.insert(path.to_owned(), file);
        }
        if let (Some(dir), Some(mut cache)) = (options.cache_dir.as_deref(), cache)
            && !fresh.is_empty()
        {
            cache.insert_and_save(dir, snapshot.name(), fresh, &used);
        }
        stats.seconds = started.elapsed().as_secs_f64();
        Ok(Self { files, stats, kept_text: options.keep_text })
    }

    /// The Agentless layout: `{repo, base_commit, structure}` with folders as objects and each `.py` file as
    /// `{classes, functions, text}`; other files as `{}`. `text` is present only when the index kept it
    /// (`IndexOptions::keep_text`), and then on every `.py` file, so Agentless tools recognise files by their three
    /// keys.
    pub fn to_agentless_json(&self, snapshot: &RepoSnapshot) -> Value {
        let mut tree = Map::new();
        for path in snapshot.files() {
            let parts: Vec<&str> = path.split('/').collect();
            let value = match self.files.get(path.as_str()) {
                Some(file) => agentless_file(file, self.kept_text),
                None => Value::Object(Map::new()),
            };
            insert_at(&mut tree, &parts, value);
        }
        // Paths in the tree are relative to the repository root. The original files root-level files under a
        // pseudo-folder named after the clone (`django/setup.py`); that quirk is not copied.
        json!({ "repo": snapshot.name(), "base_commit": snapshot.commit(), "structure": tree })
    }
}

/// Puts `value` at the folder path `parts` (the last part names the file), creating folders on the way.
fn insert_at(folder: &mut Map<String, Value>, parts: &[&str], value: Value) {
    match parts {
        [] => {}
        [file_name] => {
            folder.insert((*file_name).to_owned(), value);
        }
        [name, rest @ ..] => {
            let entry = folder.entry((*name).to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(next) = entry {
                insert_at(next, rest, value);
            }
        }
    }
}

fn agentless_file(file: &IndexedFile, with_text: bool) -> Value {
    let span = |name: &str, start_line: usize, end_line: usize| json!({ "name": name, "start_line": start_line, "end_line": end_line });
    let classes: Vec<Value> = file
        .structure
        .classes
        .iter()
        .map(|class| {
            let methods: Vec<Value> =
                class.methods.iter().map(|method| span(&method.name, method.start_line, method.end_line)).collect();
            json!({ "name": class.name, "start_line": class.start_line, "end_line": class.end_line, "methods": methods })
        })
        .collect();
    let functions: Vec<Value> = file
        .structure
        .functions
        .iter()
        .map(|function| span(&function.name, function.start_line, function.end_line))
        .collect();
    let mut object = Map::new();
    object.insert("classes".to_owned(), Value::Array(classes));
    object.insert("functions".to_owned(), Value::Array(functions));
    if with_text {
        // A file that is not UTF-8 has no lines, as Agentless gives a file it cannot read.
        object.insert("text".to_owned(), Value::from(file.text.clone().unwrap_or_default()));
    }
    Value::Object(object)
}

/// Indexes one file: from the cache when its content is known, else by parsing it. Returns its content key and
/// whether it came from the cache.
fn index_file(
    snapshot: &RepoSnapshot,
    path: &str,
    cache: &IndexCache,
    options: &IndexOptions,
) -> Result<(ContentKey, IndexedFile, bool), SourceError> {
    let usable = |entry: &&CacheEntry| entry.skeleton.is_some() || !options.skeletons || entry.not_utf8;
    let blob_key = snapshot.blob_id(path).map(ContentKey::from_oid);
    if !options.keep_text
        && let Some(key) = blob_key
        && let Some(entry) = cache.get(&key).filter(usable)
    {
        return Ok((key, entry.to_indexed(None, options.skeletons), true));
    }
    let bytes = snapshot.read(path)?;
    let key = match blob_key {
        Some(key) => key,
        None => ContentKey::of_content(&bytes),
    };
    let text = match crate::decode_python(&bytes) {
        Some(text) => Some(text.into_owned()),
        None => {
            tracing::warn!(%path, "not UTF-8 nor in the encoding it declares: left out of the index");
            None
        }
    };
    let lines = text.as_deref().map(split_lines).filter(|_| options.keep_text);
    if let Some(entry) = cache.get(&key).filter(usable) {
        return Ok((key, entry.to_indexed(lines, options.skeletons), true));
    }
    let Some(text) = text else {
        let file =
            IndexedFile { structure: FileStructure::default(), skeleton: None, text: None, not_utf8: true, lines: 0 };
        return Ok((key, file, false));
    };
    let skeleton_options = SkeletonOptions::default();
    // The scanner reads almost every file; the few it is unsure about go through tree-sitter.
    let scanned = scan_file(&text, options.skeletons.then_some(&skeleton_options));
    let parsed = scanned.or_else(|| {
        with_tree(&text, |tree, normalized| {
            let root = tree.root_node();
            let structure = structure_of(root, normalized);
            let skeleton = options.skeletons.then(|| skeleton_of(root, normalized, &skeleton_options));
            (structure, skeleton)
        })
    });
    let (structure, skeleton) = parsed.unwrap_or((FileStructure { parse_errors: 1, ..FileStructure::default() }, None));
    let line_count = LineStarts::new(&text).count();
    Ok((key, IndexedFile { structure, skeleton, text: lines, not_utf8: false, lines: line_count }, false))
}

/// A text's lines without their endings, split at `\n`, `\r\n` and `\r` (the line breaks Python counts in line
/// numbers; Agentless's `str.splitlines` also splits at form feeds and other separators, which shifts its lines).
pub(crate) fn split_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(at) => {
                lines.push(rest.get(..at).unwrap_or_default().to_owned());
                let skip = if rest.get(at..at + 2) == Some("\r\n") { 2 } else { 1 };
                rest = rest.get(at + skip..).unwrap_or_default();
            }
            None => {
                lines.push(rest.to_owned());
                rest = "";
            }
        }
    }
    lines
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
