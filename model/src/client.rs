//! The [`LanguageModel`] implementation: provider + transport + cache + transcript + ledger, and the sampling
//! strategy of each wire format (OpenAI: `n` in one call, topped up when a server returns fewer; Anthropic: one
//! call per sample, the first alone so the others read its prompt cache).

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use futures::future::try_join_all;

use crate::cache::{CacheKey, ResponseCache};
use crate::transcript::{ReplayMatching, Replayer, TranscriptWriter};
use crate::transport::HttpTransport;
use crate::wire::{self, WireAnswer};
use crate::{
    CallRecord, ChatRequest, Completion, Embedder, EmbedderOptions, LanguageModel, Ledger, ModelError, OpenAiEmbedder,
    Price, Provider, Usage, WireApi,
};

/// Everything a client needs besides the provider.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Response cache directory; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// Write every request and answer to this JSONL transcript (`--record`).
    pub record: Option<PathBuf>,
    pub price: Option<Price>,
    /// Bytes kept of each answer (the rest is cut and marked); `None` is [`DEFAULT_MAX_ANSWER_BYTES`].
    pub max_answer_bytes: Option<usize>,
    /// The embedding model this client also serves (retrieval by embeddings), through the same cache and ledger.
    pub embeddings: Option<EmbeddingModel>,
}

/// An embedding model: any provider that serves OpenAI-compatible `/v1/embeddings`.
#[derive(Debug, Clone)]
pub struct EmbeddingModel {
    pub provider: Provider,
    pub model: String,
    /// Input tokens only; `None` counts tokens at no cost.
    pub price: Option<Price>,
}

/// Bytes kept of each model answer by default: far beyond any answer a stage asks for (1024–4096 tokens), small
/// enough that a runaway answer cannot bloat the run's artifacts.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 256 * 1024;
/// The line put where an answer was cut.
pub const ANSWER_TRUNCATION_MARKER: &str = "\n[... answer truncated by agentless ...]\n";

#[derive(Debug)]
pub struct ModelClient {
    model: String,
    max_answer_bytes: usize,
    backend: Backend,
    cache: Option<ResponseCache>,
    recorder: Option<TranscriptWriter>,
    price: Option<Price>,
    ledger: Ledger,
    embedder: Option<OpenAiEmbedder>,
}

#[derive(Debug)]
enum Backend {
    OpenAiChat(Http),
    Anthropic(Http),
    Replay(Replayer),
}

#[derive(Debug)]
struct Http {
    provider: Provider,
    transport: HttpTransport,
}

impl ModelClient {
    /// Build a client. Reads the key from the environment variable the provider names; fails with
    /// [`ModelError::MissingKey`] when it is unset. For a `replay` provider, `model` is the transcript path.
    pub fn new(provider: Provider, model: &str, options: ClientOptions, ledger: Ledger) -> Result<Self, ModelError> {
        Self::with_env(provider, model, options, ledger, &|name| std::env::var(name).ok())
    }

    /// As [`ModelClient::new`], reading the key through `lookup` instead of the process environment.
    pub fn with_env(
        provider: Provider,
        model: &str,
        options: ClientOptions,
        ledger: Ledger,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelError> {
        let backend = match provider.wire {
            WireApi::OpenAiChat => {
                let transport = provider.transport(lookup, wire::openai::headers)?;
                Backend::OpenAiChat(Http { provider, transport })
            }
            WireApi::Anthropic => {
                let transport = provider.transport(lookup, wire::anthropic::headers)?;
                Backend::Anthropic(Http { provider, transport })
            }
            WireApi::Replay => Backend::Replay(Replayer::open(model.as_ref(), ReplayMatching::ByStage)?),
            WireApi::ReplayStrict => Backend::Replay(Replayer::open(model.as_ref(), ReplayMatching::Identical)?),
        };
        let recorder = options.record.as_deref().map(TranscriptWriter::open).transpose()?;
        let embedder = options
            .embeddings
            .map(|embeddings| {
                let shared = EmbedderOptions { cache_dir: options.cache_dir.clone(), price: embeddings.price };
                OpenAiEmbedder::with_env(&embeddings.provider, &embeddings.model, shared, ledger.clone(), lookup)
            })
            .transpose()?;
        Ok(Self {
            model: model.to_owned(),
            max_answer_bytes: options.max_answer_bytes.unwrap_or(DEFAULT_MAX_ANSWER_BYTES),
            backend,
            cache: options.cache_dir.map(ResponseCache::new),
            recorder,
            price: options.price,
            ledger,
            embedder,
        })
    }

    /// The ledger every call of this client is recorded in.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Answer from the cache, else check the budget, run `sampling` and cache its answer.
    async fn cached_or_sampled(
        &self,
        http: &Http,
        request: &ChatRequest,
        sampling: impl Future<Output = Result<WireAnswer, ModelError>>,
    ) -> Result<Completion, ModelError> {
        let cached = match &self.cache {
            Some(cache) => {
                let key = CacheKey::new(&http.provider.base_url, http.provider.wire, &self.model, request)?;
                match cache.load(&key)? {
                    Some(hit) => {
                        return Ok(Completion { cost_usd: 0.0, from_cache: true, ..hit });
                    }
                    None => Some((cache, key)),
                }
            }
            None => None,
        };
        self.ledger.check_budget()?;
        let answer = sampling.await?;
        let cost_usd = self.price.map_or(0.0, |price| price.cost_usd(&answer.usage));
        let completion = Completion { samples: answer.texts, usage: answer.usage, cost_usd, from_cache: false };
        if let Some((cache, key)) = cached
            && let Err(error) = cache.store(&key, &completion)
        {
            tracing::warn!("cannot cache the answer to a {} request: {error}", request.stage);
        }
        Ok(completion)
    }

    /// Ask for all samples in one call; servers that ignore or cap `n` get further calls (in parallel, as many
    /// per call as the server gave) until every sample is there.
    async fn sample_openai(&self, http: &Http, request: &ChatRequest) -> Result<WireAnswer, ModelError> {
        let wanted = request.samples as usize;
        let url = http.provider.endpoint(wire::openai::CHAT_PATH);
        let mut texts = Vec::with_capacity(wanted);
        let mut usage = Usage::default();
        let mut per_call = wanted;
        while texts.len() < wanted {
            let missing = wanted - texts.len();
            let sizes = (0..missing.div_ceil(per_call)).map(|call| per_call.min(missing - call * per_call));
            let answers = try_join_all(sizes.map(|size| {
                let body = wire::openai::chat_body(&self.model, request, u32::try_from(size).unwrap_or(u32::MAX));
                self.post(&http.transport, &url, wire::openai::NAME, request, body, wire::openai::parse_chat)
            }))
            .await?;
            let most = answers.iter().map(|answer| answer.texts.len()).max().unwrap_or(0);
            if most == 0 {
                return Err(ModelError::Malformed {
                    url,
                    wire: wire::openai::NAME,
                    detail: format!("no choices came back ({} of {wanted} samples so far)", texts.len()),
                });
            }
            if most < per_call {
                tracing::debug!("{url} returned {most} choice(s) per call; asking for the missing samples again");
            }
            per_call = per_call.min(most);
            for answer in answers {
                texts.extend(answer.texts);
                usage += answer.usage;
            }
        }
        texts.truncate(wanted);
        Ok(WireAnswer { texts, usage })
    }

    /// One call per sample. With several samples the prompt is marked for caching and the first call goes
    /// alone, so the parallel rest read the prefix it cached instead of each writing it.
    async fn sample_anthropic(&self, http: &Http, request: &ChatRequest) -> Result<WireAnswer, ModelError> {
        let url = http.provider.endpoint(wire::anthropic::PATH);
        let cache_prefix = request.samples > 1;
        let sample = || {
            let body = wire::anthropic::body(&self.model, request, cache_prefix);
            self.post(&http.transport, &url, wire::anthropic::NAME, request, body, wire::anthropic::parse)
        };
        let first = sample().await?;
        let rest = try_join_all((1..request.samples).map(|_| sample())).await?;
        let mut texts = Vec::with_capacity(request.samples as usize);
        let mut usage = Usage::default();
        for answer in std::iter::once(first).chain(rest) {
            texts.extend(answer.texts);
            usage += answer.usage;
        }
        Ok(WireAnswer { texts, usage })
    }

    async fn post(
        &self,
        transport: &HttpTransport,
        url: &str,
        wire_name: &'static str,
        request: &ChatRequest,
        body: impl serde::Serialize,
        parse: fn(&[u8]) -> Result<WireAnswer, String>,
    ) -> Result<WireAnswer, ModelError> {
        let bytes = transport.post_json(url, &request.stage, &body).await?;
        parse(&bytes).map_err(|detail| ModelError::Malformed {
            url: url.to_owned(),
            wire: wire_name,
            detail: transport.redact(&detail),
        })
    }
}

#[async_trait::async_trait]
impl LanguageModel for ModelClient {
    fn name(&self) -> &str {
        &self.model
    }

    fn embedder(&self) -> Option<&dyn Embedder> {
        self.embedder.as_ref().map(|embedder| embedder as &dyn Embedder)
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        let started = Instant::now();
        if request.samples == 0 {
            return Ok(Completion { samples: Vec::new(), usage: Usage::default(), cost_usd: 0.0, from_cache: false });
        }
        let mut completion = match &self.backend {
            Backend::OpenAiChat(http) => {
                self.cached_or_sampled(http, request, self.sample_openai(http, request)).await?
            }
            Backend::Anthropic(http) => {
                self.cached_or_sampled(http, request, self.sample_anthropic(http, request)).await?
            }
            Backend::Replay(replayer) => replayer.answer(request)?,
        };
        for sample in &mut completion.samples {
            cap_answer(sample, self.max_answer_bytes, &request.stage);
        }
        self.ledger.record(CallRecord {
            stage: request.stage.clone(),
            model: self.model.clone(),
            samples: request.samples,
            usage: completion.usage,
            cost_usd: completion.cost_usd,
            from_cache: completion.from_cache,
            seconds: started.elapsed().as_secs_f64(),
        });
        if let Some(recorder) = &self.recorder {
            recorder.append(request, &completion)?;
        }
        Ok(completion)
    }
}

/// Cut `answer` to `max_bytes` (at a character boundary), marking the cut.
fn cap_answer(answer: &mut String, max_bytes: usize, stage: &str) {
    if answer.len() <= max_bytes {
        return;
    }
    let mut end = max_bytes;
    while !answer.is_char_boundary(end) {
        end -= 1;
    }
    tracing::warn!(stage, bytes = answer.len(), kept = end, "a model answer was cut to the answer cap");
    answer.truncate(end);
    answer.push_str(ANSWER_TRUNCATION_MARKER);
}

#[cfg(test)]
mod answer_cap_tests {
    use super::*;

    #[test]
    fn answers_beyond_the_cap_are_cut_at_a_character_boundary() {
        let mut answer = "ab€cd".to_owned();
        cap_answer(&mut answer, 3, "repair");
        assert_eq!(answer, format!("ab{ANSWER_TRUNCATION_MARKER}"));
        let mut short = "short".to_owned();
        cap_answer(&mut short, 5, "repair");
        assert_eq!(short, "short");
    }
}
