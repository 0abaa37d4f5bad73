//! The Anthropic messages wire format: one sample per call, `x-api-key` and `anthropic-version` headers, and
//! prompt caching of the shared prefix through a `cache_control` mark on the user prompt.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, InvalidHeaderValue};
use serde::{Deserialize, Serialize};

use super::{WireAnswer, undecodable};
use crate::provider::ApiKey;
use crate::{ChatRequest, Usage};

pub(crate) const NAME: &str = "Anthropic messages";
pub(crate) const PATH: &str = "messages";
pub(crate) const API_VERSION: &str = "2023-06-01";

/// The headers of every request: the API version and the key, marked sensitive so it never shows in `Debug`.
pub(crate) fn headers(key: Option<&ApiKey>) -> Result<HeaderMap, InvalidHeaderValue> {
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static("anthropic-version"), HeaderValue::from_static(API_VERSION));
    if let Some(key) = key {
        let mut value = HeaderValue::from_str(key.expose())?;
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-api-key"), value);
    }
    Ok(headers)
}

#[derive(Debug, Serialize)]
pub(crate) struct MessagesBody<'a> {
    model: &'a str,
    max_tokens: u32,
    temperature: f32,
    #[serde(skip_serializing_if = "str::is_empty")]
    system: &'a str,
    messages: [UserMessage<'a>; 1],
}

#[derive(Debug, Serialize)]
struct UserMessage<'a> {
    role: &'static str,
    content: [TextBlock<'a>; 1],
}

#[derive(Debug, Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Debug, Serialize)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

/// The body of one sample of `request`. With `cache_prefix`, the user prompt is marked as a cache breakpoint,
/// so the system message and prompt are cached for the other samples of the same request.
pub(crate) fn body<'a>(model: &'a str, request: &'a ChatRequest, cache_prefix: bool) -> MessagesBody<'a> {
    let cache_control = cache_prefix.then_some(CacheControl { kind: "ephemeral" });
    MessagesBody {
        model,
        max_tokens: request.max_tokens,
        temperature: request.temperature,
        system: &request.system,
        messages: [UserMessage {
            role: "user",
            content: [TextBlock { kind: "text", text: &request.prompt, cache_control }],
        }],
    }
}

#[derive(Debug, Deserialize)]
struct MessagesResponse {
    content: Vec<ContentBlock>,
    usage: MessagesUsage,
}

#[derive(Debug, Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessagesUsage {
    input_tokens: u64,
    output_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

/// One sample: the text blocks joined. `prompt_tokens` adds up Anthropic's uncached, cache-read and
/// cache-write input counts, as [`Usage`] counts every prompt token.
pub(crate) fn parse(body: &[u8]) -> Result<WireAnswer, String> {
    let response: MessagesResponse = serde_json::from_slice(body).map_err(|error| undecodable(&error, body))?;
    let text: String =
        response.content.into_iter().filter(|block| block.kind == "text").filter_map(|block| block.text).collect();
    let cached_tokens = response.usage.cache_read_input_tokens.unwrap_or(0);
    let cache_creation_tokens = response.usage.cache_creation_input_tokens.unwrap_or(0);
    let usage = Usage {
        prompt_tokens: response.usage.input_tokens + cached_tokens + cache_creation_tokens,
        completion_tokens: response.usage.output_tokens,
        cached_tokens,
        cache_creation_tokens,
    };
    Ok(WireAnswer { texts: vec![text], usage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_blocks_are_joined_and_cache_counts_added_to_the_prompt() {
        let body = br#"{"content":[{"type":"text","text":"a"},{"type":"tool_use","id":"x"},{"type":"text","text":"b"}],
            "usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":90,"cache_creation_input_tokens":null}}"#;
        let answer = parse(body).unwrap();
        assert_eq!(answer.texts, ["ab"]);
        assert_eq!(
            answer.usage,
            Usage { prompt_tokens: 100, completion_tokens: 3, cached_tokens: 90, cache_creation_tokens: 0 }
        );
    }

    #[test]
    fn one_sample_has_no_cache_mark_and_no_empty_system() {
        let request = ChatRequest {
            stage: "repair".to_owned(),
            system: String::new(),
            prompt: "fix it".to_owned(),
            temperature: 0.0,
            max_tokens: 64,
            samples: 1,
            sample_key: 0,
        };
        let json = serde_json::to_value(body("claude", &request, false)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"model":"claude","max_tokens":64,"temperature":0.0,
                "messages":[{"role":"user","content":[{"type":"text","text":"fix it"}]}]})
        );
    }
}
