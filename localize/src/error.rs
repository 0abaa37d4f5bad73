//! The errors of localization. Running out of budget is not one of them: it ends the run early with what was
//! found (see `Locations::stopped`).

use agentless_model::ModelError;
use agentless_prompts::PromptError;
use agentless_syntax::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum LocalizeError {
    #[error("the model request of stage `{stage}` failed")]
    Model {
        stage: &'static str,
        #[source]
        source: ModelError,
    },
    #[error("embedding retrieval failed")]
    Embedding(#[source] ModelError),
    #[error("retrieval by embeddings was asked for, but the model client has no embedding model")]
    NoEmbedder,
    #[error("cannot read a file of the snapshot")]
    Read(#[from] SourceError),
    #[error("cannot render a prompt")]
    Prompt(#[from] PromptError),
    #[error("the `{stage}` prompt is still about {estimated_tokens} tokens with a single file left (limit {limit})")]
    PromptTooLong { stage: &'static str, estimated_tokens: usize, limit: usize },
}
