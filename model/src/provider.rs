//! Providers as data: a base URL, the name of the environment variable that holds the key, and a wire format.

use std::time::Duration;

use reqwest::header::{HeaderMap, InvalidHeaderValue};

use crate::ModelError;
use crate::transport::{HttpTransport, RetryPolicy, TransportSettings};

/// The wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireApi {
    /// `POST {base_url}/chat/completions` with `n` samples in one call.
    OpenAiChat,
    /// `POST {base_url}/messages`; samples as parallel calls; prompt caching on the shared prefix.
    Anthropic,
    /// Answers from a recorded transcript file; no network. A request the transcript does not hold is answered
    /// with the next unused record of its stage (and a warning).
    Replay,
    /// As `Replay`, but a request must be identical to a recorded one: anything else is
    /// [`ModelError::ReplayMismatch`]. Tests use it, so a stale transcript fails them.
    ReplayStrict,
}

impl WireApi {
    /// Whether answers come from a transcript rather than a server (no base URL, no key).
    pub fn is_replay(self) -> bool {
        match self {
            Self::Replay | Self::ReplayStrict => true,
            Self::OpenAiChat | Self::Anthropic => false,
        }
    }
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

/// The variable the `openai` provider reads its key from.
pub const OPENAI_KEY_VAR: &str = "OPENAI_API_KEY";
/// The variable the `anthropic` provider reads its key from.
pub const ANTHROPIC_KEY_VAR: &str = "ANTHROPIC_API_KEY";

/// The providers [`Provider::builtin`] knows, in the order error messages list them.
pub const BUILTIN_PROVIDERS: [&str; 5] = ["openai", "anthropic", "openai-compatible", "replay", "replay-strict"];

impl Provider {
    /// A built-in provider with default retries, a 600 s request timeout and 8 requests in flight:
    /// `openai` (key in `OPENAI_API_KEY`), `anthropic` (key in `ANTHROPIC_API_KEY`), `openai-compatible`
    /// (vLLM, Ollama, llama.cpp, OpenRouter...: no base URL, the caller supplies it; no key unless the caller
    /// names a variable), `replay` (answers from a transcript; no network) and `replay-strict` (the same, but
    /// only for requests identical to recorded ones).
    pub fn builtin(name: &str) -> Result<Self, ModelError> {
        let (base_url, env_key, wire) = match name {
            "openai" => ("https://api.openai.com/v1", Some(OPENAI_KEY_VAR), WireApi::OpenAiChat),
            "anthropic" => ("https://api.anthropic.com/v1", Some(ANTHROPIC_KEY_VAR), WireApi::Anthropic),
            "openai-compatible" => ("", None, WireApi::OpenAiChat),
            "replay" => ("", None, WireApi::Replay),
            "replay-strict" => ("", None, WireApi::ReplayStrict),
            _ => {
                return Err(ModelError::UnknownProvider { name: name.to_owned(), known: BUILTIN_PROVIDERS.join(", ") });
            }
        };
        Ok(Self {
            name: name.to_owned(),
            base_url: base_url.to_owned(),
            env_key: env_key.map(str::to_owned),
            wire,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(600),
            max_concurrency: 8,
        })
    }

    /// Read the key from the variable the provider names, through `lookup` (the process environment in
    /// production). `Ok(None)` when the provider names no variable; [`ModelError::MissingKey`] when the named
    /// variable is unset or empty.
    fn read_key(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<ApiKey>, ModelError> {
        let Some(env_key) = &self.env_key else {
            return Ok(None);
        };
        match lookup(env_key) {
            Some(value) if !value.trim().is_empty() => Ok(Some(ApiKey(value.trim().to_owned()))),
            Some(_) | None => Err(ModelError::MissingKey { provider: self.name.clone(), env_key: env_key.clone() }),
        }
    }

    /// The transport for this provider (which must have a base URL): its key read through `lookup` and put in the headers `auth_headers`
    /// builds, its retry policy, timeout and concurrency limit.
    pub(crate) fn transport(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        auth_headers: fn(Option<&ApiKey>) -> Result<HeaderMap, InvalidHeaderValue>,
    ) -> Result<HttpTransport, ModelError> {
        if self.base_url.trim().is_empty() {
            return Err(ModelError::MissingBaseUrl { provider: self.name.clone() });
        }
        let key = self.read_key(lookup)?;
        let headers = auth_headers(key.as_ref()).map_err(|_| ModelError::InvalidKey {
            provider: self.name.clone(),
            env_key: self.env_key.clone().unwrap_or_default(),
        })?;
        HttpTransport::new(TransportSettings {
            retry: self.retry.clone(),
            request_timeout: self.request_timeout,
            max_concurrency: self.max_concurrency,
            headers,
            secret: key,
        })
    }

    /// `{base_url}/{path}`, with exactly one slash between them.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url.trim_end_matches('/'))
    }
}

/// An API key. Its `Debug` shows `ApiKey(***)`; it is not `Display` or `Serialize`, so it cannot end up in a
/// log, an error or a transcript by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> Self {
        Self(key)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ApiKey(***)")
    }
}

/// `PROVIDER:NAME` as given to `--model`, e.g. `openai:gpt-4o-2024-05-13` or `replay:examples/x/transcript.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub provider: String,
    pub model: String,
}

impl std::str::FromStr for ModelSpec {
    type Err = ModelError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.split_once(':') {
            Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
                Ok(Self { provider: provider.to_owned(), model: model.to_owned() })
            }
            _ => Err(ModelError::BadModelSpec { spec: spec.to_owned() }),
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
