//! The OpenAI chat completions wire: `n` samples in one call, the body sent, servers that return fewer choices.

use std::sync::atomic::{AtomicUsize, Ordering};

use agentless_model::client::ClientOptions;
use agentless_model::{LanguageModel, Ledger, ModelError, Price, STAGE_HEADER, Usage, WireApi};
use pretty_assertions::assert_eq;
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{self, KEY};

#[tokio::test]
async fn n_samples_come_from_one_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header(STAGE_HEADER, "repair"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(
            &["one", "two", "three"],
            1000,
            30,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let price = Price { input: 2.0, output: 10.0, cached_input: None, cache_write: None };
    let options = ClientOptions { price: Some(price), ..ClientOptions::default() };
    let client = support::client(
        support::provider(WireApi::OpenAiChat, &format!("{}/v1/", server.uri())),
        "gpt-4o",
        options,
        Ledger::default(),
    );
    let completion = client.complete(&support::request("repair", "Fix the bug.", 3, 0.8)).await.unwrap();
    assert_eq!(completion.samples, ["one", "two", "three"]);
    assert_eq!(completion.usage, Usage { prompt_tokens: 1000, completion_tokens: 30, ..Usage::default() });
    assert!((completion.cost_usd - (1000.0 * 2.0 + 30.0 * 10.0) / 1e6).abs() < 1e-12, "{}", completion.cost_usd);
    assert!(!completion.from_cache);
    assert_eq!(client.name(), "gpt-4o");
    insta::assert_json_snapshot!(support::received_bodies(&server).await, @r#"
    [
      {
        "max_tokens": 256,
        "messages": [
          {
            "content": "You are a helpful assistant.",
            "role": "system"
          },
          {
            "content": "Fix the bug.",
            "role": "user"
          }
        ],
        "model": "gpt-4o",
        "n": 3,
        "temperature": 0.8
      }
    ]
    "#);
}

/// Answers `per_call` choices at most, whatever `n` asks, numbering the samples across calls.
struct CappedServer {
    per_call: usize,
    served: AtomicUsize,
}

impl Respond for CappedServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = request.body_json().unwrap();
        let asked = body["n"].as_u64().unwrap() as usize;
        let count = asked.min(self.per_call);
        let first = self.served.fetch_add(count, Ordering::SeqCst);
        let texts: Vec<String> = (first..first + count).map(|index| format!("sample {index}")).collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        ResponseTemplate::new(200).set_body_json(support::openai_answer(&texts, 100, 10 * count as u64))
    }
}

async fn sample_from_capped_server(per_call: usize, samples: u32) -> (Vec<String>, Usage, Vec<u64>, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(CappedServer { per_call, served: AtomicUsize::new(0) })
        .mount(&server)
        .await;
    let mut provider = support::provider(WireApi::OpenAiChat, &format!("{}/v1", server.uri()));
    provider.env_key = None;
    let client = support::client(provider, "local", ClientOptions::default(), Ledger::default());
    let completion = client.complete(&support::request("localize.file", "Which files?", samples, 0.8)).await.unwrap();
    let mut asked: Vec<u64> =
        support::received_bodies(&server).await.iter().map(|body| body["n"].as_u64().unwrap()).collect();
    asked.sort_unstable();
    let mut samples = completion.samples;
    samples.sort();
    (samples, completion.usage, asked, server)
}

#[tokio::test]
async fn a_server_that_ignores_n_is_asked_again_for_the_missing_samples() {
    let (samples, usage, asked, server) = sample_from_capped_server(1, 4).await;
    assert_eq!(samples, ["sample 0", "sample 1", "sample 2", "sample 3"]);
    assert_eq!(asked, [1, 1, 1, 4]);
    assert_eq!(usage, Usage { prompt_tokens: 400, completion_tokens: 40, ..Usage::default() });
    for request in server.received_requests().await.unwrap() {
        assert!(request.headers.get("authorization").is_none(), "no key, no authorization header");
    }
}

#[tokio::test]
async fn a_server_that_caps_n_is_asked_in_batches_of_its_cap() {
    let (samples, usage, asked, _server) = sample_from_capped_server(2, 5).await;
    assert_eq!(samples.len(), 5);
    assert_eq!(samples.iter().collect::<std::collections::BTreeSet<_>>().len(), 5);
    assert_eq!(asked, [1, 2, 5]);
    assert_eq!(usage.prompt_tokens, 300);
}

#[tokio::test]
async fn no_choices_at_all_is_an_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&[], 5, 0)))
        .expect(1)
        .mount(&server)
        .await;
    let client = support::client(
        support::provider(WireApi::OpenAiChat, &server.uri()),
        "m",
        ClientOptions::default(),
        Ledger::default(),
    );
    let error = client.complete(&support::request("repair", "p", 2, 0.0)).await.unwrap_err();
    assert!(matches!(error, ModelError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("no choices came back"), "{error}");
}

#[tokio::test]
async fn malformed_json_names_the_wire_and_quotes_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header_exists(STAGE_HEADER))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway says hi</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let ledger = Ledger::default();
    let client = support::client(
        support::provider(WireApi::OpenAiChat, &server.uri()),
        "m",
        ClientOptions::default(),
        ledger.clone(),
    );
    let error = client.complete(&support::request("repair", "p", 1, 0.0)).await.unwrap_err();
    let ModelError::Malformed { wire, detail, .. } = &error else { panic!("{error:?}") };
    assert_eq!(*wire, "OpenAI chat completions");
    assert!(detail.contains("<html>gateway says hi</html>"), "{detail}");
    assert_eq!(ledger.calls(), [], "a failed call is not recorded");
}
