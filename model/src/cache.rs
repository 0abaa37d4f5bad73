//! The response cache on disk: one JSON file per request, named by a sha256 of everything that determines the
//! answer (provider base URL, wire format, model, the whole [`ChatRequest`]; for embeddings the base URL, model and
//! inputs). Writes are atomic.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::{ChatRequest, ModelError, WireApi};

/// Bumped when the meaning of a cached file changes, so old files are no longer found.
const CACHE_FORMAT: u32 = 1;

/// What a cache key is a hash of.
#[derive(Serialize)]
struct KeyMaterial<'a> {
    format: u32,
    base_url: &'a str,
    wire: WireApi,
    model: &'a str,
    request: &'a ChatRequest,
}

/// What the key of a cached batch of embeddings is a hash of.
#[derive(Serialize)]
struct EmbeddingKeyMaterial<'a> {
    format: u32,
    endpoint: &'static str,
    base_url: &'a str,
    model: &'a str,
    inputs: &'a [String],
}

/// The hex sha256 naming one cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    pub fn new(base_url: &str, wire: WireApi, model: &str, request: &ChatRequest) -> Result<Self, ModelError> {
        let material = KeyMaterial { format: CACHE_FORMAT, base_url, wire, model, request };
        let bytes = serde_json::to_vec(&material).map_err(ModelError::Encode)?;
        let digest = Sha256::digest(&bytes);
        Ok(Self(digest.iter().map(|byte| format!("{byte:02x}")).collect()))
    }

    /// The key of one batch of embedding inputs (never equal to a chat request's key).
    pub fn for_embeddings(base_url: &str, model: &str, inputs: &[String]) -> Result<Self, ModelError> {
        let material = EmbeddingKeyMaterial { format: CACHE_FORMAT, endpoint: "embeddings", base_url, model, inputs };
        let bytes = serde_json::to_vec(&material).map_err(ModelError::Encode)?;
        let digest = Sha256::digest(&bytes);
        Ok(Self(digest.iter().map(|byte| format!("{byte:02x}")).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct ResponseCache {
    dir: PathBuf,
}

impl ResponseCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/ab/abcdef….json`: the first two hex digits fan the files out over 256 directories.
    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(&key.0[..2]).join(format!("{}.json", key.0))
    }

    /// The cached answer as it was first answered (for a [`Completion`], `from_cache` and cost untouched), or
    /// `None`. A file that does not parse is treated as absent (and overwritten by the next store).
    pub fn load<Answer: DeserializeOwned>(&self, key: &CacheKey) -> Result<Option<Answer>, ModelError> {
        let path = self.path(key);
        let text = match fs_err::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ModelError::Io { path, source }),
        };
        match serde_json::from_str(&text) {
            Ok(completion) => Ok(Some(completion)),
            Err(error) => {
                tracing::warn!("ignoring the unreadable cache entry `{}`: {error}", path.display());
                Ok(None)
            }
        }
    }

    /// Write the completion through a temporary file and a rename, so readers never see half a file.
    pub fn store(&self, key: &CacheKey, answer: &impl Serialize) -> Result<(), ModelError> {
        let path = self.path(key);
        let text = serde_json::to_string(answer).map_err(ModelError::Encode)?;
        let parent = path.parent().unwrap_or(&self.dir);
        fs_err::create_dir_all(parent).map_err(|source| ModelError::Io { path: parent.to_path_buf(), source })?;
        let temporary = parent.join(format!(".{}.{}.{:016x}.tmp", key.0, std::process::id(), fastrand::u64(..)));
        fs_err::write(&temporary, text).map_err(|source| ModelError::Io { path: temporary.clone(), source })?;
        fs_err::rename(&temporary, &path).map_err(|source| {
            let _ = fs_err::remove_file(&temporary);
            ModelError::Io { path: path.clone(), source }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Completion, Usage};

    fn request(prompt: &str, temperature: f32) -> ChatRequest {
        ChatRequest {
            stage: "repair".to_owned(),
            system: "sys".to_owned(),
            prompt: prompt.to_owned(),
            temperature,
            max_tokens: 10,
            samples: 2,
            sample_key: 0,
        }
    }

    #[test]
    fn key_covers_every_part_of_the_request() {
        let base = CacheKey::new("http://a/v1", WireApi::OpenAiChat, "m", &request("p", 0.8)).unwrap();
        assert_eq!(base.as_str().len(), 64);
        assert_eq!(base, CacheKey::new("http://a/v1", WireApi::OpenAiChat, "m", &request("p", 0.8)).unwrap());
        for other in [
            CacheKey::new("http://b/v1", WireApi::OpenAiChat, "m", &request("p", 0.8)),
            CacheKey::new("http://a/v1", WireApi::Anthropic, "m", &request("p", 0.8)),
            CacheKey::new("http://a/v1", WireApi::OpenAiChat, "n", &request("p", 0.8)),
            CacheKey::new("http://a/v1", WireApi::OpenAiChat, "m", &request("q", 0.8)),
            CacheKey::new("http://a/v1", WireApi::OpenAiChat, "m", &request("p", 0.0)),
            CacheKey::new("http://a/v1", WireApi::OpenAiChat, "m", &ChatRequest { sample_key: 1, ..request("p", 0.8) }),
        ] {
            assert_ne!(base, other.unwrap());
        }
        let inputs = ["a".to_owned(), "b".to_owned()];
        let embeddings = CacheKey::for_embeddings("http://a/v1", "m", &inputs).unwrap();
        assert_eq!(embeddings, CacheKey::for_embeddings("http://a/v1", "m", &inputs).unwrap());
        assert_ne!(embeddings, CacheKey::for_embeddings("http://a/v1", "m", &inputs[..1]).unwrap());
        assert_ne!(embeddings, CacheKey::for_embeddings("http://a/v1", "n", &inputs).unwrap());
        assert_ne!(embeddings, CacheKey::for_embeddings("http://b/v1", "m", &inputs).unwrap());
    }

    #[test]
    fn store_then_load_and_corrupt_files_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResponseCache::new(dir.path());
        let key = CacheKey::new("u", WireApi::OpenAiChat, "m", &request("p", 0.0)).unwrap();
        assert_eq!(cache.load::<Completion>(&key).unwrap(), None);
        let completion = Completion {
            samples: vec!["a".to_owned(), String::new()],
            usage: Usage { prompt_tokens: 3, completion_tokens: 1, cached_tokens: 0, cache_creation_tokens: 0 },
            cost_usd: 0.5,
            from_cache: false,
        };
        cache.store(&key, &completion).unwrap();
        assert_eq!(cache.load(&key).unwrap(), Some(completion));
        let files: Vec<_> = walk(dir.path());
        assert_eq!(files.len(), 1, "no temporary file is left behind: {files:?}");
        fs_err::write(&files[0], "{ half").unwrap();
        assert_eq!(cache.load::<Completion>(&key).unwrap(), None);
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in fs_err::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
}
