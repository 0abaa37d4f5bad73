//! The [`LanguageModel`] implementation: provider + transport + cache + transcript + ledger.

use std::path::PathBuf;

use crate::{ChatRequest, Completion, LanguageModel, Ledger, ModelError, Price, Provider};

/// Everything a client needs besides the provider.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Response cache directory; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// Write every request and answer to this JSONL transcript (`--record`).
    pub record: Option<PathBuf>,
    pub price: Option<Price>,
}

pub struct ModelClient {
    _private: (),
}

impl ModelClient {
    /// Build a client. Reads the key from the environment variable the provider names; fails with
    /// [`ModelError::MissingKey`] when it is unset. For a `replay` provider, `model` is the transcript path.
    pub fn new(provider: Provider, model: &str, options: ClientOptions, ledger: Ledger) -> Result<Self, ModelError> {
        let _ = (provider, model, options, ledger);
        todo!()
    }
}

#[async_trait::async_trait]
impl LanguageModel for ModelClient {
    fn name(&self) -> &str {
        todo!()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let _ = request;
        todo!()
    }
}
