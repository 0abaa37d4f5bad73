//! The model client, layered as in codex-rs: a transport with a retry policy as data, providers as data, and
//! one small trait, [`LanguageModel`], that the pipeline sees.

pub mod cache;
pub mod client;
pub mod embed;
pub mod error;
pub mod ledger;
pub mod provider;
pub mod transcript;
pub mod transport;
mod wire;

pub use client::{ANSWER_TRUNCATION_MARKER, ClientOptions, DEFAULT_MAX_ANSWER_BYTES, ModelClient};
pub use embed::{Embedder, EmbedderOptions, OpenAiEmbedder};
pub use error::ModelError;
pub use ledger::{Budget, CallRecord, Ledger, Price, StageTotals, Usage};
pub use provider::{ModelSpec, Provider, WireApi};
pub use transport::RetryPolicy;

/// The HTTP header naming the pipeline stage of every request, so proxies and transcripts can attribute cost.
pub const STAGE_HEADER: &str = "x-agentless-stage";

/// One chat request: a system message and one user prompt, sampled `samples` times.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChatRequest {
    /// The pipeline stage, e.g. `localize.file`; sent as [`STAGE_HEADER`].
    pub stage: String,
    pub system: String,
    pub prompt: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// How many samples to return. OpenAI asks for `n` in one call; Anthropic makes parallel calls.
    pub samples: u32,
    /// Never sent: tells apart otherwise identical sampling requests in the cache and in transcripts, e.g. two
    /// location samples that show the same code. Without it the second would get the first one's cached samples
    /// and the vote would count the same answers twice.
    #[serde(default)]
    pub sample_key: u32,
}

/// The samples a request produced, with their combined usage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Completion {
    /// One text per sample, in order; an empty string for a sample that came back empty.
    pub samples: Vec<String>,
    pub usage: Usage,
    /// The price of this call in US dollars, from the price table (0 when answered from the cache).
    pub cost_usd: f64,
    /// Answered from the response cache or a replay transcript, at no cost.
    pub from_cache: bool,
}

/// What the pipeline sees of a model.
#[async_trait::async_trait]
pub trait LanguageModel: Send + Sync {
    /// The model's name as given to the provider.
    fn name(&self) -> &str;

    /// Sample the request. Records the call in the client's [`Ledger`]; fails with
    /// [`ModelError::BudgetExhausted`] before sending when the budget is spent.
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError>;

    /// The embedding model served alongside, through the same cache, ledger and budget; `None` when none is set.
    fn embedder(&self) -> Option<&dyn Embedder> {
        None
    }
}
