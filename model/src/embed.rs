//! Embeddings for retrieval: the [`Embedder`] trait and an OpenAI-compatible `/v1/embeddings` client that uses
//! the same transport, retries and concurrency limit as the chat client.

use futures::future::try_join_all;

use crate::transport::HttpTransport;
use crate::{ModelError, Provider, wire};

/// The stage named in the [`STAGE_HEADER`](crate::STAGE_HEADER) of embedding requests.
pub const EMBED_STAGE: &str = "localize.embed";

/// How many inputs go in one request (OpenAI accepts up to 2048).
pub const EMBED_BATCH: usize = 256;

#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// One vector per input, in order.
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError>;
}

#[derive(Debug)]
pub struct OpenAiEmbedder {
    model: String,
    url: String,
    transport: HttpTransport,
}

impl OpenAiEmbedder {
    /// An embedder for `model` at `{provider.base_url}/embeddings`, with the key from the environment variable
    /// the provider names. The provider's wire format is not consulted: embeddings always speak OpenAI's.
    pub fn new(provider: &Provider, model: &str) -> Result<Self, ModelError> {
        Self::with_env(provider, model, &|name| std::env::var(name).ok())
    }

    /// As [`OpenAiEmbedder::new`], reading the key through `lookup` instead of the process environment.
    pub fn with_env(
        provider: &Provider,
        model: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelError> {
        let transport = provider.transport(lookup, wire::openai::headers)?;
        Ok(Self { model: model.to_owned(), url: provider.endpoint(wire::openai::EMBEDDINGS_PATH), transport })
    }
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbedder {
    /// Batches of [`EMBED_BATCH`] inputs, sent in parallel up to the provider's concurrency limit.
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let batches = try_join_all(inputs.chunks(EMBED_BATCH).map(|batch| async move {
            let body = wire::openai::EmbeddingsBody { model: &self.model, input: batch };
            let bytes = self.transport.post_json(&self.url, EMBED_STAGE, &body).await?;
            wire::openai::parse_embeddings(&bytes, batch.len()).map_err(|detail| ModelError::Malformed {
                url: self.url.clone(),
                wire: wire::openai::EMBEDDINGS_NAME,
                detail: self.transport.redact(&detail),
            })
        }))
        .await?;
        Ok(batches.into_iter().flatten().collect())
    }
}
