//! The on-disk cache of indexed files: one compact binary file per repository name, keyed by the git blob id of
//! each file's content, loaded with one read and rewritten (atomically) when new files were parsed.
//!
//! A damaged or outdated cache file is ignored (and replaced on the next save); cache trouble never fails an index.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};
use sha2::Digest;

use crate::index::IndexedFile;
use crate::structure::{Assignment, ClassInfo, FileStructure, FunctionInfo};

/// Bumped whenever parsing, structure or skeleton rules change, so old entries are not reused.
const CACHE_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"AGLSXIDX";
/// Above this many entries, a save keeps only the entries of the latest index.
const MAX_ENTRIES: usize = 200_000;

/// The git blob id of a file's content (SHA-1 of `blob <len>\0<bytes>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ContentKey([u8; 20]);

impl ContentKey {
    pub(crate) fn from_oid(oid: Oid) -> Self {
        let mut key = [0; 20];
        let bytes = oid.as_bytes();
        let len = bytes.len().min(20);
        key[..len].copy_from_slice(&bytes[..len]);
        Self(key)
    }

    pub(crate) fn of_content(bytes: &[u8]) -> Self {
        match Oid::hash_object(ObjectType::Blob, bytes) {
            Ok(oid) => Self::from_oid(oid),
            Err(_) => {
                let digest = sha2::Sha256::digest(bytes);
                let mut key = [0; 20];
                key.copy_from_slice(&digest[..20]);
                Self(key)
            }
        }
    }
}

/// What the cache remembers of one file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CacheEntry {
    pub structure: FileStructure,
    pub skeleton: Option<String>,
    pub not_utf8: bool,
    pub lines: usize,
}

impl CacheEntry {
    pub(crate) fn of(file: &IndexedFile) -> Self {
        Self {
            structure: file.structure.clone(),
            skeleton: file.skeleton.clone(),
            not_utf8: file.not_utf8,
            lines: file.lines,
        }
    }

    pub(crate) fn to_indexed(&self, text: Option<Vec<String>>, with_skeleton: bool) -> IndexedFile {
        IndexedFile {
            structure: self.structure.clone(),
            skeleton: self.skeleton.clone().filter(|_| with_skeleton),
            text,
            not_utf8: self.not_utf8,
            lines: self.lines,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct IndexCache {
    entries: HashMap<ContentKey, CacheEntry>,
}

impl IndexCache {
    /// Loads the cache of repository `name`; a missing or unreadable cache is empty.
    pub(crate) fn load(dir: &Path, name: &str) -> Self {
        let path = cache_path(dir, name);
        let bytes = match fs_err::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(%error, "ignoring the index cache");
                }
                return Self::default();
            }
        };
        match decode(&bytes) {
            Some(entries) => Self { entries },
            None => {
                tracing::warn!(path = %path.display(), "ignoring an outdated or damaged index cache");
                Self::default()
            }
        }
    }

    pub(crate) fn get(&self, key: &ContentKey) -> Option<&CacheEntry> {
        self.entries.get(key)
    }

    /// Adds `fresh` entries and rewrites the cache file; `used` are the keys of the index just built.
    pub(crate) fn insert_and_save(
        &mut self,
        dir: &Path,
        name: &str,
        fresh: Vec<(ContentKey, CacheEntry)>,
        used: &[ContentKey],
    ) {
        self.entries.extend(fresh);
        if self.entries.len() > MAX_ENTRIES {
            let keep: std::collections::HashSet<&ContentKey> = used.iter().collect();
            self.entries.retain(|key, _| keep.contains(key));
        }
        let path = cache_path(dir, name);
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));
        let written = fs_err::create_dir_all(dir)
            .and_then(|()| fs_err::write(&temporary, encode(&self.entries)))
            .and_then(|()| fs_err::rename(&temporary, &path));
        if let Err(error) = written {
            tracing::warn!(%error, "could not save the index cache");
        }
    }
}

fn cache_path(dir: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|letter| if letter.is_ascii_alphanumeric() || "-_.".contains(letter) { letter } else { '_' })
        .collect();
    dir.join(format!("{safe}.syntax-index.bin"))
}

fn encode(entries: &HashMap<ContentKey, CacheEntry>) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 512);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_VERSION.to_le_bytes());
    put_number(&mut out, entries.len());
    for (key, entry) in entries {
        out.extend_from_slice(&key.0);
        out.push(u8::from(entry.not_utf8) | (u8::from(entry.skeleton.is_some()) << 1));
        put_number(&mut out, entry.lines);
        put_number(&mut out, entry.structure.parse_errors);
        put_number(&mut out, entry.structure.classes.len());
        for class in &entry.structure.classes {
            put_span(&mut out, &class.name, class.start_line, class.end_line);
            put_number(&mut out, class.methods.len());
            for method in &class.methods {
                put_span(&mut out, &method.name, method.start_line, method.end_line);
            }
        }
        put_number(&mut out, entry.structure.functions.len());
        for function in &entry.structure.functions {
            put_span(&mut out, &function.name, function.start_line, function.end_line);
        }
        put_number(&mut out, entry.structure.assignments.len());
        for assignment in &entry.structure.assignments {
            put_number(&mut out, assignment.names.len());
            for name in &assignment.names {
                put_text(&mut out, name);
            }
            put_number(&mut out, assignment.start_line);
            put_number(&mut out, assignment.end_line);
        }
        if let Some(skeleton) = &entry.skeleton {
            put_text(&mut out, skeleton);
        }
    }
    out
}

fn put_number(out: &mut Vec<u8>, value: usize) {
    let mut rest = value as u64;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_number(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn put_span(out: &mut Vec<u8>, name: &str, start_line: usize, end_line: usize) {
    put_text(out, name);
    put_number(out, start_line);
    put_number(out, end_line);
}

/// Decodes a cache file; `None` when it is damaged or from another version.
fn decode(bytes: &[u8]) -> Option<HashMap<ContentKey, CacheEntry>> {
    let mut reader = Reader { bytes, at: 0 };
    if reader.take(MAGIC.len())? != MAGIC || reader.take(4)? != CACHE_VERSION.to_le_bytes() {
        return None;
    }
    let count = reader.number()?;
    let mut entries = HashMap::with_capacity(count.min(MAX_ENTRIES));
    for _ in 0..count {
        let key = ContentKey(reader.take(20)?.try_into().ok()?);
        let flags = reader.take(1)?.first().copied()?;
        let lines = reader.number()?;
        let parse_errors = reader.number()?;
        let classes = (0..reader.number()?)
            .map(|_| {
                let (name, start_line, end_line) = reader.span()?;
                let methods = (0..reader.number()?).map(|_| reader.function()).collect::<Option<Vec<_>>>()?;
                Some(ClassInfo { name, start_line, end_line, methods })
            })
            .collect::<Option<Vec<_>>>()?;
        let functions = (0..reader.number()?).map(|_| reader.function()).collect::<Option<Vec<_>>>()?;
        let assignments = (0..reader.number()?)
            .map(|_| {
                let names = (0..reader.number()?).map(|_| reader.text()).collect::<Option<Vec<_>>>()?;
                Some(Assignment { names, start_line: reader.number()?, end_line: reader.number()? })
            })
            .collect::<Option<Vec<_>>>()?;
        let skeleton = if flags & 2 != 0 { Some(reader.text()?) } else { None };
        let structure = FileStructure { classes, functions, assignments, parse_errors };
        entries.insert(key, CacheEntry { structure, skeleton, not_utf8: flags & 1 != 0, lines });
    }
    (reader.at == bytes.len()).then_some(entries)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(slice)
    }

    fn number(&mut self) -> Option<usize> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return usize::try_from(value).ok();
            }
        }
        None
    }

    fn text(&mut self) -> Option<String> {
        let len = self.number()?;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    fn span(&mut self) -> Option<(String, usize, usize)> {
        Some((self.text()?, self.number()?, self.number()?))
    }

    fn function(&mut self) -> Option<FunctionInfo> {
        let (name, start_line, end_line) = self.span()?;
        Some(FunctionInfo { name, start_line, end_line })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CacheEntry {
        CacheEntry {
            structure: FileStructure {
                classes: vec![ClassInfo {
                    name: "A".into(),
                    start_line: 3,
                    end_line: 300,
                    methods: vec![FunctionInfo { name: "m".into(), start_line: 4, end_line: 5 }],
                }],
                functions: vec![FunctionInfo { name: "fé".into(), start_line: 1, end_line: 2 }],
                assignments: vec![Assignment { names: vec!["a".into(), "b".into()], start_line: 9, end_line: 9 }],
                parse_errors: 2,
            },
            skeleton: Some("class A:\n    ...\n".into()),
            not_utf8: false,
            lines: 301,
        }
    }

    #[test]
    fn entries_survive_a_round_trip() {
        let mut entries = HashMap::new();
        entries.insert(ContentKey::of_content(b"x = 1\n"), sample());
        let bare = CacheEntry { skeleton: None, not_utf8: true, ..sample() };
        entries.insert(ContentKey::of_content(b"\xff"), bare);
        assert_eq!(decode(&encode(&entries)), Some(entries));
    }

    #[test]
    fn damaged_or_foreign_files_are_rejected() {
        let mut entries = HashMap::new();
        entries.insert(ContentKey::of_content(b"x = 1\n"), sample());
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        let mut other_version = bytes.clone();
        other_version[MAGIC.len()] ^= 0xff;
        assert_eq!(decode(&other_version), None);
        assert_eq!(decode(b"garbage"), None);
    }

    #[test]
    fn content_key_is_the_git_blob_id() {
        // `printf 'x = 1\n' | git hash-object --stdin`
        let key = ContentKey::of_content(b"x = 1\n");
        let expected = Oid::from_str("7d4290a117a4ddcc11daae7ea675841033830c8f").expect("valid hex");
        assert_eq!(key, ContentKey::from_oid(expected));
    }
}
