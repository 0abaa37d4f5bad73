//! Embeddings for retrieval: the [`Embedder`] trait and an OpenAI-compatible `/v1/embeddings` client.

use crate::ModelError;

#[async_trait::async_trait]
pub trait Embedder: Send + Sync {
    /// One vector per input, in order.
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError>;
}

pub struct OpenAiEmbedder {
    _private: (),
}

#[async_trait::async_trait]
impl Embedder for OpenAiEmbedder {
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        let _ = inputs;
        todo!()
    }
}
