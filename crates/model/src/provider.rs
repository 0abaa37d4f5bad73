//! Providers as data: a base URL, the name of the environment variable that holds the key, and a wire format.

use std::time::Duration;

use crate::transport::RetryPolicy;

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireApi {
    /// `POST {base_url}/chat/completions` with `n` samples in one call.
    OpenAiChat,
    /// `POST {base_url}/messages`; samples as parallel calls; prompt caching on the shared prefix.
    Anthropic,
    /// Answers from a recorded transcript file; no network.
    Replay,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Provider {
    pub name: String,
    pub base_url: String,
    /// The *name* of the environment variable holding the key; `None` for servers that need none.
    pub env_key: Option<String>,
    pub wire: WireApi,
    pub retry: RetryPolicy,
    #[serde(with = "duration_secs")]
    pub request_timeout: Duration,
    /// How many requests may be in flight at once.
    pub max_concurrency: usize,
}

/// `PROVIDER:NAME` as given to `--model`, e.g. `openai:gpt-4o-2024-05-13` or `replay:examples/x/transcript.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub provider: String,
    pub model: String,
}

impl std::str::FromStr for ModelSpec {
    type Err = crate::ModelError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.split_once(':') {
            Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
                Ok(Self { provider: provider.to_owned(), model: model.to_owned() })
            }
            _ => Err(crate::ModelError::BadModelSpec { spec: spec.to_owned() }),
        }
    }
}

mod duration_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(value.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}
