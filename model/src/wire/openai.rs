//! The OpenAI chat completions and embeddings wire formats, also spoken by vLLM, Ollama, llama.cpp and
//! OpenRouter: `n` samples in one call, `Authorization: Bearer KEY` when there is a key.

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, InvalidHeaderValue};
use serde::{Deserialize, Serialize};

use super::{WireAnswer, undecodable};
use crate::provider::ApiKey;
use crate::{ChatRequest, Usage};

pub(crate) const NAME: &str = "OpenAI chat completions";
pub(crate) const EMBEDDINGS_NAME: &str = "OpenAI embeddings";
pub(crate) const CHAT_PATH: &str = "chat/completions";
pub(crate) const EMBEDDINGS_PATH: &str = "embeddings";

/// The headers of every request: the bearer key, marked sensitive so it never shows in `Debug`.
pub(crate) fn headers(key: Option<&ApiKey>) -> Result<HeaderMap, InvalidHeaderValue> {
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose()))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    Ok(headers)
}

#[derive(Debug, Serialize)]
pub(crate) struct ChatBody<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    temperature: f32,
    max_tokens: u32,
    n: u32,
}

#[derive(Debug, Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

/// The body asking for `n` samples of `request` (an empty system message is left out).
pub(crate) fn chat_body<'a>(model: &'a str, request: &'a ChatRequest, n: u32) -> ChatBody<'a> {
    let mut messages = Vec::with_capacity(2);
    if !request.system.is_empty() {
        messages.push(Message { role: "system", content: &request.system });
    }
    messages.push(Message { role: "user", content: &request.prompt });
    ChatBody { model, messages, temperature: request.temperature, max_tokens: request.max_tokens, n }
}

#[derive(Debug, Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    message: Option<ChoiceMessage>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChatUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Deserialize)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

/// The texts of the choices in `index` order (a choice without content counts as an empty sample).
pub(crate) fn parse_chat(body: &[u8]) -> Result<WireAnswer, String> {
    let response: ChatResponse = serde_json::from_slice(body).map_err(|error| undecodable(&error, body))?;
    let mut choices = response.choices;
    choices.sort_by_key(|choice| choice.index);
    let texts = choices
        .into_iter()
        .map(|choice| choice.message.and_then(|message| message.content).unwrap_or_default())
        .collect();
    let usage = response.usage.map_or_else(Usage::default, |usage| Usage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cached_tokens: usage.prompt_tokens_details.and_then(|details| details.cached_tokens).unwrap_or(0),
        cache_creation_tokens: 0,
    });
    Ok(WireAnswer { texts, usage })
}

#[derive(Debug, Serialize)]
pub(crate) struct EmbeddingsBody<'a> {
    pub(crate) model: &'a str,
    pub(crate) input: &'a [String],
}

#[derive(Debug, Deserialize)]
struct EmbeddingsResponse {
    data: Vec<Embedding>,
    usage: Option<EmbeddingsUsage>,
}

#[derive(Debug, Deserialize)]
struct EmbeddingsUsage {
    prompt_tokens: u64,
}

/// The vectors of one embeddings answer, in input order, and the tokens it counted (all of them prompt tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EmbeddingsAnswer {
    pub(crate) vectors: Vec<Vec<f32>>,
    pub(crate) usage: Usage,
}

#[derive(Debug, Deserialize)]
struct Embedding {
    index: usize,
    embedding: Vec<f32>,
}

/// One vector per input, in input order; an error unless exactly `expected` distinct indices came back. A server
/// that reports no usage counts zero tokens.
pub(crate) fn parse_embeddings(body: &[u8], expected: usize) -> Result<EmbeddingsAnswer, String> {
    let response: EmbeddingsResponse = serde_json::from_slice(body).map_err(|error| undecodable(&error, body))?;
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; expected];
    for item in response.data {
        match vectors.get_mut(item.index) {
            Some(slot @ None) => *slot = Some(item.embedding),
            Some(Some(_)) => return Err(format!("index {} appears twice", item.index)),
            None => return Err(format!("index {} is out of range for {expected} input(s)", item.index)),
        }
    }
    let vectors = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| vector.ok_or_else(|| format!("no embedding for input {index}")))
        .collect::<Result<_, _>>()?;
    let prompt_tokens = response.usage.map_or(0, |usage| usage.prompt_tokens);
    Ok(EmbeddingsAnswer { vectors, usage: Usage { prompt_tokens, ..Usage::default() } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_come_back_in_index_order_with_cached_tokens() {
        let body = br#"{"choices":[
            {"index":1,"message":{"role":"assistant","content":"second"}},
            {"index":0,"message":{"role":"assistant","content":"first"}},
            {"index":2,"message":{"role":"assistant","content":null}}],
            "usage":{"prompt_tokens":50,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":32}}}"#;
        let answer = parse_chat(body).unwrap();
        assert_eq!(answer.texts, ["first", "second", ""]);
        assert_eq!(
            answer.usage,
            Usage { prompt_tokens: 50, completion_tokens: 7, cached_tokens: 32, cache_creation_tokens: 0 }
        );
    }

    #[test]
    fn missing_usage_is_zero_and_missing_choices_is_an_error() {
        assert_eq!(parse_chat(br#"{"choices":[]}"#).unwrap().usage, Usage::default());
        let detail = parse_chat(br#"{"error":{"message":"model not loaded"}}"#).unwrap_err();
        assert!(detail.contains("missing field `choices`") && detail.contains("model not loaded"), "{detail}");
    }

    #[test]
    fn embeddings_are_put_in_input_order() {
        let body = br#"{"data":[{"index":1,"embedding":[0.5]},{"index":0,"embedding":[0.25,1.0]}]}"#;
        assert_eq!(parse_embeddings(body, 2).unwrap().vectors, vec![vec![0.25, 1.0], vec![0.5]]);
        let counted = br#"{"data":[{"index":0,"embedding":[1.0]}],"usage":{"prompt_tokens":12,"total_tokens":12}}"#;
        assert_eq!(parse_embeddings(counted, 1).unwrap().usage.prompt_tokens, 12);
        assert_eq!(parse_embeddings(body, 3).unwrap_err(), "no embedding for input 2");
        assert_eq!(parse_embeddings(body, 1).unwrap_err(), "index 1 is out of range for 1 input(s)");
    }
}
