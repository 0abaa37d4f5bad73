//! The response cache: a re-run costs nothing and makes no HTTP call; any change to the request misses.

use agentless_model::client::ClientOptions;
use agentless_model::{LanguageModel, Ledger, Price, WireApi};
use pretty_assertions::assert_eq;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support;

#[tokio::test]
async fn a_cache_hit_makes_no_http_call_and_costs_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&["a", "b"], 1000, 100)))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let options = ClientOptions {
        cache_dir: Some(dir.path().join("responses")),
        price: Some(Price { input: 1.0, output: 1.0, cached_input: None, cache_write: None }),
        record: None,
        max_answer_bytes: None,
        embeddings: None,
    };
    let request = support::request("repair", "Fix it.", 2, 0.8);
    let ledger = Ledger::default();
    let first =
        support::client(support::provider(WireApi::OpenAiChat, &server.uri()), "m", options.clone(), ledger.clone())
            .complete(&request)
            .await
            .unwrap();
    // A second client on the same directory stands for a re-run of the pipeline.
    let second = support::client(support::provider(WireApi::OpenAiChat, &server.uri()), "m", options, ledger.clone())
        .complete(&request)
        .await
        .unwrap();
    assert_eq!(first.samples, ["a", "b"]);
    assert!(!first.from_cache);
    assert!((first.cost_usd - 0.0011).abs() < 1e-12);
    assert_eq!(second.samples, first.samples);
    assert_eq!(second.usage, first.usage);
    assert!(second.from_cache);
    assert_eq!(second.cost_usd, 0.0);
    let calls = ledger.calls();
    assert_eq!(
        calls.iter().map(|call| (call.from_cache, call.cost_usd)).collect::<Vec<_>>(),
        [(false, 0.0011), (true, 0.0)]
    );
    assert_eq!(ledger.total().cached_calls, 1);
}

#[tokio::test]
async fn a_changed_request_misses_the_cache() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&["a"], 1, 1)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let options = ClientOptions { cache_dir: Some(dir.path().to_path_buf()), ..ClientOptions::default() };
    let client = |model: &str| {
        support::client(
            support::provider(WireApi::OpenAiChat, &server.uri()),
            model,
            options.clone(),
            Ledger::default(),
        )
    };
    let mut from_cache = Vec::new();
    for (model, request) in [
        ("m", support::request("repair", "Fix it.", 1, 0.8)),
        ("m", support::request("repair", "Fix it!", 1, 0.8)),
        ("m", support::request("repair", "Fix it.", 1, 0.0)),
        ("m", support::request("repair", "Fix it.", 2, 0.8)),
        ("m", support::request("localize.file", "Fix it.", 1, 0.8)),
        ("m2", support::request("repair", "Fix it.", 1, 0.8)),
        ("m", support::request("repair", "Fix it.", 1, 0.8)),
    ] {
        from_cache.push(client(model).complete(&request).await.unwrap().from_cache);
    }
    assert_eq!(from_cache, [false, false, false, false, false, false, true]);
    // Six misses; this server answers one choice whatever `n` asks, so the two-sample request takes two calls.
    assert_eq!(server.received_requests().await.unwrap().len(), 7);
}
