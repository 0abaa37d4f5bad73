//! Embeddings for retrieval: the [`Embedder`] trait and an OpenAI-compatible `/v1/embeddings` client that goes
//! through the same machinery as chat: the transport (retries, concurrency limit), the response cache, the ledger
//! (every batch a call of stage [`EMBED_STAGE`], priced) and its budget.

use std::path::PathBuf;
use std::time::Instant;

use futures::future::try_join_all;

use crate::cache::{CacheKey, ResponseCache};
use crate::transport::HttpTransport;
use crate::wire::openai::EmbeddingsAnswer;
use crate::{CallRecord, Ledger, ModelError, Price, Provider, wire};

/// The stage named in the [`STAGE_HEADER`](crate::STAGE_HEADER) of embedding requests and in the ledger.
pub const EMBED_STAGE: &str = "localize.embed";

/// How many inputs go in one request (OpenAI accepts up to 2048).
pub const EMBED_BATCH: usize = 256;

#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// One vector per input, in order.
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// What an embedder shares with the chat client of the same run.
#[derive(Debug, Clone, Default)]
pub struct EmbedderOptions {
    /// Response cache directory (the chat client's, see [`ModelClient::cache_dir`](crate::ModelClient::cache_dir));
    /// `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// The embedding model's price (input tokens only); `None` counts tokens at no cost.
    pub price: Option<Price>,
}

#[derive(Debug)]
pub struct OpenAiEmbedder {
    model: String,
    base_url: String,
    url: String,
    transport: HttpTransport,
    cache: Option<ResponseCache>,
    price: Option<Price>,
    ledger: Ledger,
}

impl OpenAiEmbedder {
    /// An embedder for `model` at `{provider.base_url}/embeddings`, with the key from the environment variable
    /// the provider names, recording every batch in `ledger` (the chat client's, so one budget covers both). The
    /// provider's wire format is not consulted: embeddings always speak OpenAI's.
    pub fn new(provider: &Provider, model: &str, options: EmbedderOptions, ledger: Ledger) -> Result<Self, ModelError> {
        Self::with_env(provider, model, options, ledger, &|name| std::env::var(name).ok())
    }

    /// As [`OpenAiEmbedder::new`], reading the key through `lookup` instead of the process environment.
    pub fn with_env(
        provider: &Provider,
        model: &str,
        options: EmbedderOptions,
        ledger: Ledger,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelError> {
        let transport = provider.transport(lookup, wire::openai::headers)?;
        Ok(Self {
            model: model.to_owned(),
            base_url: provider.base_url.clone(),
            url: provider.endpoint(wire::openai::EMBEDDINGS_PATH),
            transport,
            cache: options.cache_dir.map(ResponseCache::new),
            price: options.price,
            ledger,
        })
    }

    /// One batch: from the cache, else (budget permitting) from the server, then cached; recorded in the ledger
    /// either way.
    async fn embed_batch(&self, batch: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let started = Instant::now();
        let cached = match &self.cache {
            Some(cache) => {
                let key = CacheKey::for_embeddings(&self.base_url, &self.model, batch)?;
                match cache.load::<EmbeddingsAnswer>(&key)? {
                    Some(hit) if hit.vectors.len() == batch.len() => {
                        self.record(batch, &hit, 0.0, true, started);
                        return Ok(hit.vectors);
                    }
                    Some(_) | None => Some((cache, key)),
                }
            }
            None => None,
        };
        self.ledger.check_budget()?;
        let body = wire::openai::EmbeddingsBody { model: &self.model, input: batch };
        let bytes = self.transport.post_json(&self.url, EMBED_STAGE, &body).await?;
        let answer = wire::openai::parse_embeddings(&bytes, batch.len()).map_err(|detail| ModelError::Malformed {
            url: self.url.clone(),
            wire: wire::openai::EMBEDDINGS_NAME,
            detail: self.transport.redact(&detail),
        })?;
        let cost_usd = self.price.map_or(0.0, |price| price.cost_usd(&answer.usage));
        self.record(batch, &answer, cost_usd, false, started);
        if let Some((cache, key)) = cached
            && let Err(error) = cache.store(&key, &answer)
        {
            tracing::warn!("cannot cache the answer to a {EMBED_STAGE} request: {error}");
        }
        Ok(answer.vectors)
    }

    fn record(&self, batch: &[String], answer: &EmbeddingsAnswer, cost_usd: f64, from_cache: bool, started: Instant) {
        self.ledger.record(CallRecord {
            stage: EMBED_STAGE.to_owned(),
            model: self.model.clone(),
            samples: u32::try_from(batch.len()).unwrap_or(u32::MAX),
            usage: answer.usage,
            cost_usd,
            from_cache,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbedder {
    /// Batches of [`EMBED_BATCH`] inputs, sent in parallel up to the provider's concurrency limit.
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let batches = try_join_all(inputs.chunks(EMBED_BATCH).map(|batch| self.embed_batch(batch))).await?;
        Ok(batches.into_iter().flatten().collect())
    }
}
