//! Retrieval of files by the issue text without a chat model: the candidate files are cut into chunks that each
//! carry a header (path, class names, function names), ranked by BM25 (or by embedding similarity), and files
//! are listed in the order they first appear among the top chunks, as Agentless's `retrieve.py` does.
//!
//! Nothing is parsed: class and function names come from a line scan (`class X`, module-level `def f`). Files
//! are read and chunks scored in parallel (rayon).
//!
//! Chunks are about [`CHUNK_CHARS`] characters (≈ 512 tokens, the original's chunk size) cut at line ends. The
//! header is left out (the path alone is kept) when it is longer than [`HEADER_MAX_CHARS`] (≈ half a chunk, the
//! original's rule for its metadata).

use std::collections::HashMap;
use std::ops::Range;

use agentless_model::{Embedder, ModelError};
use agentless_syntax::{RepoSnapshot, SourceError};
use rayon::prelude::*;

/// Characters of code per chunk (about 512 tokens).
pub const CHUNK_CHARS: usize = 2_000;
/// A longer header is cut to the path line.
pub const HEADER_MAX_CHARS: usize = 1_024;
/// How many top chunks decide the file order (the original's `similarity_top_k`).
pub const TOP_CHUNKS: usize = 100;
/// Inputs per embedding request.
const EMBED_BATCH: usize = 128;
/// BM25 parameters (the usual defaults).
const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

struct CorpusFile {
    path: String,
    header: String,
    text: String,
}

struct Chunk {
    file: usize,
    code: Range<usize>,
}

/// The chunks of a set of files, ready to be ranked against an issue.
pub struct Corpus {
    files: Vec<CorpusFile>,
    chunks: Vec<Chunk>,
}

impl Corpus {
    /// Read `paths` from the snapshot (in parallel) and cut them into chunks. Files are decoded as they declare
    /// (PEP 263); a file that cannot be decoded is named in a warning and its bad bytes replaced.
    pub fn build(snapshot: &RepoSnapshot, paths: &[&str]) -> Result<Self, SourceError> {
        let files: Vec<(CorpusFile, Vec<Range<usize>>)> = paths
            .par_iter()
            .map(|path| {
                let text = crate::read_source(snapshot, path)?;
                let header = header_of(path, &text);
                let ranges = chunk_ranges(&text);
                Ok((CorpusFile { path: (*path).to_owned(), header, text }, ranges))
            })
            .collect::<Result<_, SourceError>>()?;
        let mut corpus = Corpus { files: Vec::with_capacity(files.len()), chunks: Vec::new() };
        for (index, (file, ranges)) in files.into_iter().enumerate() {
            corpus.chunks.extend(ranges.into_iter().map(|code| Chunk { file: index, code }));
            corpus.files.push(file);
        }
        Ok(corpus)
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Files in the order they first appear among the [`TOP_CHUNKS`] chunks BM25 ranks highest for `query`.
    /// Chunks sharing no term with the query are never ranked.
    pub fn rank_bm25(&self, query: &str) -> Vec<String> {
        let mut terms: HashMap<String, usize> = HashMap::new();
        let mut buffer = String::new();
        for_each_token(query, &mut buffer, |token| {
            let next = terms.len();
            terms.entry(token.to_owned()).or_insert(next);
        });
        if terms.is_empty() || self.chunks.is_empty() {
            return Vec::new();
        }
        // Per chunk: its length in tokens and the (term, count) pairs of query terms it holds.
        let counted: Vec<(usize, Vec<(usize, u32)>)> = self
            .chunks
            .par_iter()
            .map_init(String::new, |buffer, chunk| {
                let file = &self.files[chunk.file];
                let mut length = 0;
                let mut hits: Vec<usize> = Vec::new();
                let mut count = |token: &str| {
                    length += 1;
                    if let Some(&term) = terms.get(token) {
                        hits.push(term);
                    }
                };
                for_each_token(&file.header, buffer, &mut count);
                for_each_token(file.text.get(chunk.code.clone()).unwrap_or_default(), buffer, &mut count);
                (length, run_lengths(hits))
            })
            .collect();
        let mut document_frequency = vec![0_usize; terms.len()];
        for (_, hits) in &counted {
            for &(term, _) in hits {
                document_frequency[term] += 1;
            }
        }
        let chunk_total = counted.len() as f64;
        let average_length = counted.iter().map(|(length, _)| *length as f64).sum::<f64>() / chunk_total;
        let idf: Vec<f64> = document_frequency
            .iter()
            .map(|&frequency| ((chunk_total - frequency as f64 + 0.5) / (frequency as f64 + 0.5) + 1.0).ln())
            .collect();
        let mut scored: Vec<(f64, usize)> = counted
            .iter()
            .enumerate()
            .filter(|(_, (_, hits))| !hits.is_empty())
            .map(|(index, (length, hits))| {
                let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * *length as f64 / average_length.max(1.0));
                let score = hits
                    .iter()
                    .map(|&(term, count)| {
                        let tf = f64::from(count);
                        idf[term] * tf * (BM25_K1 + 1.0) / (tf + norm)
                    })
                    .sum();
                (score, index)
            })
            .collect();
        scored.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
        self.files_of(scored.into_iter().map(|(_, index)| index))
    }

    /// Files in the order they first appear among the [`TOP_CHUNKS`] chunks most similar (cosine) to `query`
    /// under `embedder`. Chunks are embedded as the original's documents: metadata, a rule, then the code.
    pub async fn rank_embeddings(&self, embedder: &dyn Embedder, query: &str) -> Result<Vec<String>, ModelError> {
        let texts: Vec<String> = self
            .chunks
            .iter()
            .map(|chunk| {
                let file = &self.files[chunk.file];
                let code = file.text.get(chunk.code.clone()).unwrap_or_default();
                format!("Metadata:\n{}-----\nCode:\n{code}", file.header)
            })
            .collect();
        let query_vector = embedder.embed(&[query.to_owned()]).await?.into_iter().next().unwrap_or_default();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            vectors.extend(embedder.embed(batch).await?);
        }
        let mut scored: Vec<(f64, usize)> =
            vectors.iter().enumerate().map(|(index, vector)| (cosine(&query_vector, vector), index)).collect();
        scored.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
        Ok(self.files_of(scored.into_iter().map(|(_, index)| index)))
    }

    fn files_of(&self, ranked_chunks: impl Iterator<Item = usize>) -> Vec<String> {
        let mut files: Vec<String> = Vec::new();
        for index in ranked_chunks.take(TOP_CHUNKS) {
            let Some(path) = self.chunks.get(index).and_then(|chunk| self.files.get(chunk.file)).map(|f| &f.path)
            else {
                continue;
            };
            if !files.contains(path) {
                files.push(path.clone());
            }
        }
        files
    }
}

/// `### File Name: …`, `### Classes: …`, `### Functions: …` lines; only the first when all three are too long.
fn header_of(path: &str, text: &str) -> String {
    let mut classes: Vec<&str> = Vec::new();
    let mut functions: Vec<&str> = Vec::new();
    for line in text.lines() {
        let stripped = line.trim_start();
        if let Some(rest) = stripped.strip_prefix("class ") {
            classes.push(identifier_prefix(rest));
        } else if stripped.len() == line.len()
            && let Some(rest) = line.strip_prefix("def ").or_else(|| line.strip_prefix("async def "))
        {
            functions.push(identifier_prefix(rest.trim_start()));
        }
    }
    classes.retain(|name| !name.is_empty());
    functions.retain(|name| !name.is_empty());
    let header = format!(
        "### File Name: {path}\n### Classes: {}\n### Functions: {}\n",
        classes.join(", "),
        functions.join(", ")
    );
    if header.len() > HEADER_MAX_CHARS { format!("### File Name: {path}\n") } else { header }
}

fn identifier_prefix(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// Byte ranges of about [`CHUNK_CHARS`] each, ending at line ends.
fn chunk_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        if offset - start >= CHUNK_CHARS {
            ranges.push(start..offset);
            start = offset;
        }
    }
    if offset > start && !text[start..offset].trim().is_empty() {
        ranges.push(start..offset);
    }
    ranges
}

/// Code-aware tokens of `text`, lowercase: every identifier whole, and when it has several parts (snake_case,
/// CamelCase) each part too. Tokens of one character are skipped. `buffer` is scratch space.
pub fn for_each_token(text: &str, buffer: &mut String, mut emit: impl FnMut(&str)) {
    let mut parts: Vec<&str> = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        let word = word.trim_matches('_');
        if word.len() < 2 || word.chars().nth(1).is_none() {
            continue;
        }
        emit(lowercase_into(word, buffer));
        parts.clear();
        word_parts(word, &mut parts);
        if parts.len() > 1 {
            for part in &parts {
                if part.chars().nth(1).is_some() {
                    emit(lowercase_into(part, buffer));
                }
            }
        }
    }
}

fn lowercase_into<'b>(word: &str, buffer: &'b mut String) -> &'b str {
    buffer.clear();
    if word.is_ascii() {
        buffer.push_str(word);
        buffer.make_ascii_lowercase();
    } else {
        buffer.extend(word.chars().flat_map(char::to_lowercase));
    }
    buffer
}

/// The parts of an identifier: split at `_` and at CamelCase boundaries (`HTTPResponse` → `HTTP`, `Response`).
fn word_parts<'w>(word: &'w str, parts: &mut Vec<&'w str>) {
    for piece in word.split('_').filter(|piece| !piece.is_empty()) {
        let mut start = 0;
        let mut previous: Option<char> = None;
        let mut chars = piece.char_indices().peekable();
        while let Some((index, current)) = chars.next() {
            if let Some(previous) = previous
                && current.is_uppercase()
            {
                let next_is_lower = chars.peek().is_some_and(|(_, next)| next.is_lowercase());
                let boundary =
                    previous.is_lowercase() || previous.is_ascii_digit() || (previous.is_uppercase() && next_is_lower);
                if boundary {
                    parts.push(&piece[start..index]);
                    start = index;
                }
            }
            previous = Some(current);
        }
        parts.push(&piece[start..]);
    }
}

/// `(term, count)` pairs of a list of term ids.
fn run_lengths(mut hits: Vec<usize>) -> Vec<(usize, u32)> {
    hits.sort_unstable();
    let mut pairs: Vec<(usize, u32)> = Vec::new();
    for term in hits {
        match pairs.last_mut() {
            Some((last, count)) if *last == term => *count += 1,
            Some(_) | None => pairs.push((term, 1)),
        }
    }
    pairs
}

fn cosine(left: &[f32], right: &[f32]) -> f64 {
    let (mut dot, mut left_norm, mut right_norm) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (a, b) in left.iter().zip(right) {
        let (a, b) = (f64::from(*a), f64::from(*b));
        dot += a * b;
        left_norm += a * a;
        right_norm += b * b;
    }
    if left_norm == 0.0 || right_norm == 0.0 { 0.0 } else { dot / (left_norm.sqrt() * right_norm.sqrt()) }
}

#[cfg(test)]
#[path = "retrieval_tests.rs"]
mod tests;
