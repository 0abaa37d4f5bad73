//! Shared helpers: providers pointed at a mock server with short retry delays, a fake environment holding a
//! test key, requests and OpenAI answers.

use std::time::Duration;

use agentless_model::client::ClientOptions;
use agentless_model::{ChatRequest, Ledger, ModelClient, Provider, RetryPolicy, WireApi};

/// The test key; no test may find it in an error, a `Debug` string or a transcript.
pub const KEY: &str = "sk-test-7f3a9c0d5e1b2468";
/// The variable that holds [`KEY`] in the fake environment.
pub const KEY_VAR: &str = "AGENTLESS_TEST_API_KEY";

/// The fake environment: only [`KEY_VAR`] is set.
pub fn env(name: &str) -> Option<String> {
    (name == KEY_VAR).then(|| KEY.to_owned())
}

/// A provider at `base_url` whose key is in [`KEY_VAR`], retrying 3 times within milliseconds.
pub fn provider(wire: WireApi, base_url: &str) -> Provider {
    Provider {
        name: "test".to_owned(),
        base_url: base_url.to_owned(),
        env_key: Some(KEY_VAR.to_owned()),
        wire,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        request_timeout: Duration::from_secs(5),
        max_concurrency: 4,
    }
}

pub fn client(provider: Provider, model: &str, options: ClientOptions, ledger: Ledger) -> ModelClient {
    ModelClient::with_env(provider, model, options, ledger, &env).unwrap()
}

pub fn request(stage: &str, prompt: &str, samples: u32, temperature: f32) -> ChatRequest {
    ChatRequest {
        stage: stage.to_owned(),
        system: "You are a helpful assistant.".to_owned(),
        prompt: prompt.to_owned(),
        temperature,
        max_tokens: 256,
        samples,
        sample_key: 0,
    }
}

/// An OpenAI chat completion with one choice per text.
pub fn openai_answer(texts: &[&str], prompt_tokens: u64, completion_tokens: u64) -> serde_json::Value {
    let choices: Vec<_> = texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            serde_json::json!({"index": index, "finish_reason": "stop", "message": {"role": "assistant", "content": text}})
        })
        .collect();
    serde_json::json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens}
    })
}

/// The JSON bodies of every request the server received, in arrival order.
pub async fn received_bodies(server: &wiremock::MockServer) -> Vec<serde_json::Value> {
    server.received_requests().await.unwrap().iter().map(|request| request.body_json().unwrap()).collect()
}
