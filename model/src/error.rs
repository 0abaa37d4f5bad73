//! The errors of the model client. They never carry an API key.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the API key variable `{env_key}` is not set (provider `{provider}`)")]
    MissingKey { provider: String, env_key: String },
    #[error("unknown provider `{name}` (known: {known})")]
    UnknownProvider { name: String, known: String },
    #[error("model spec `{spec}` is not PROVIDER:NAME")]
    BadModelSpec { spec: String },
    #[error("provider `{provider}` has no base URL (e.g. http://localhost:8000/v1)")]
    MissingBaseUrl { provider: String },
    #[error("the value of `{env_key}` cannot be sent as an HTTP header (provider `{provider}`)")]
    InvalidKey { provider: String, env_key: String },
    #[error("the stage name `{stage}` cannot be sent as an HTTP header")]
    InvalidStage { stage: String },
    #[error("cannot set up the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error("cannot encode the request body as JSON")]
    Encode(#[source] serde_json::Error),
    #[error("budget of ${limit:.4} reached (spent ${spent:.4}); no more requests are sent")]
    BudgetExhausted { spent: f64, limit: f64 },
    #[error("request to {url} failed with HTTP {status} after {attempts} attempt(s): {body}")]
    Status { url: String, status: u16, attempts: u32, body: String },
    #[error("request to {url} failed after {attempts} attempt(s)")]
    Transport {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("request to {url} timed out after {attempts} attempt(s)")]
    Timeout { url: String, attempts: u32 },
    #[error("the response from {url} is not what the {wire} wire format promises: {detail}")]
    Malformed { url: String, wire: &'static str, detail: String },
    #[error("the replay transcript `{}` has no answer for this {stage} request", path.display())]
    ReplayMiss { path: PathBuf, stage: String },
    #[error(
        "strict replay: the transcript `{}` holds no {stage} request identical to this one ({difference}); \
         the transcript is stale, re-record it",
        path.display()
    )]
    ReplayMismatch { path: PathBuf, stage: String, difference: String },
    #[error("cannot read or write `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not valid JSON", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line} of the transcript `{}` is not a recorded call", path.display())]
    TranscriptLine {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

impl ModelError {
    /// A spent budget is a clean stop, not a failure: the stage keeps what it has and records this reason (`Ok`).
    /// Any other error is given back (`Err`) for the stage to fail with.
    pub fn into_stop_reason(self) -> Result<String, ModelError> {
        match self {
            ModelError::BudgetExhausted { .. } => Ok(self.to_string()),
            ModelError::MissingKey { .. }
            | ModelError::UnknownProvider { .. }
            | ModelError::BadModelSpec { .. }
            | ModelError::MissingBaseUrl { .. }
            | ModelError::InvalidKey { .. }
            | ModelError::InvalidStage { .. }
            | ModelError::HttpClient(_)
            | ModelError::Encode(_)
            | ModelError::Status { .. }
            | ModelError::Transport { .. }
            | ModelError::Timeout { .. }
            | ModelError::Malformed { .. }
            | ModelError::ReplayMiss { .. }
            | ModelError::ReplayMismatch { .. }
            | ModelError::Io { .. }
            | ModelError::Json { .. }
            | ModelError::TranscriptLine { .. } => Err(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_spent_budget_is_a_clean_stop() {
        let spent = ModelError::BudgetExhausted { spent: 2.5, limit: 2.0 }.into_stop_reason();
        assert_eq!(spent.ok().as_deref(), Some("budget of $2.0000 reached (spent $2.5000); no more requests are sent"));
        let timeout = ModelError::Timeout { url: "http://127.0.0.1:1".to_owned(), attempts: 3 }.into_stop_reason();
        assert!(matches!(timeout, Err(ModelError::Timeout { attempts: 3, .. })), "{timeout:?}");
    }
}
