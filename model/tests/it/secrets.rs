//! API keys: read from the named variable, required when named, and never shown in errors, `Debug` output or
//! transcripts, even when a server echoes them back.

use agentless_model::client::ClientOptions;
use agentless_model::{
    EmbedderOptions, LanguageModel, Ledger, ModelClient, ModelError, OpenAiEmbedder, Provider, WireApi,
};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{self, KEY};

#[test]
fn a_named_key_variable_that_is_unset_is_an_error() {
    let mut provider = Provider::builtin("anthropic").unwrap();
    provider.env_key = Some("AGENTLESS_TEST_UNSET_KEY".to_owned());
    let error =
        ModelClient::with_env(provider.clone(), "claude", ClientOptions::default(), Ledger::default(), &|_| None)
            .unwrap_err();
    assert_eq!(error.to_string(), "the API key variable `AGENTLESS_TEST_UNSET_KEY` is not set (provider `anthropic`)");
    let empty = ModelClient::with_env(provider.clone(), "claude", ClientOptions::default(), Ledger::default(), &|_| {
        Some("  ".to_owned())
    })
    .unwrap_err();
    assert!(matches!(empty, ModelError::MissingKey { .. }), "{empty:?}");
    let embedder =
        OpenAiEmbedder::with_env(&provider, "e", EmbedderOptions::default(), Ledger::default(), &|_| None).unwrap_err();
    assert!(matches!(embedder, ModelError::MissingKey { .. }), "{embedder:?}");
}

#[test]
fn builtin_providers() {
    let openai = Provider::builtin("openai").unwrap();
    assert_eq!(
        (openai.base_url.as_str(), openai.env_key.as_deref()),
        ("https://api.openai.com/v1", Some("OPENAI_API_KEY"))
    );
    assert_eq!(openai.wire, WireApi::OpenAiChat);
    let anthropic = Provider::builtin("anthropic").unwrap();
    assert_eq!(
        (anthropic.base_url.as_str(), anthropic.env_key.as_deref(), anthropic.wire),
        ("https://api.anthropic.com/v1", Some("ANTHROPIC_API_KEY"), WireApi::Anthropic)
    );
    let compatible = Provider::builtin("openai-compatible").unwrap();
    assert_eq!((compatible.base_url.as_str(), compatible.env_key.as_deref()), ("", None));
    let error =
        ModelClient::with_env(compatible.clone(), "llama", ClientOptions::default(), Ledger::default(), &|_| None)
            .unwrap_err();
    assert_eq!(error.to_string(), "provider `openai-compatible` has no base URL (e.g. http://localhost:8000/v1)");
    // No key is needed, so none is asked for.
    let local = Provider { base_url: "http://127.0.0.1:8000/v1".to_owned(), ..compatible };
    ModelClient::with_env(local, "llama", ClientOptions::default(), Ledger::default(), &|_| None).unwrap();
    assert_eq!(Provider::builtin("replay").unwrap().wire, WireApi::Replay);
    assert_eq!(Provider::builtin("replay-strict").unwrap().wire, WireApi::ReplayStrict);
    assert_eq!(
        Provider::builtin("nope").unwrap_err().to_string(),
        "unknown provider `nope` (known: openai, anthropic, openai-compatible, replay, replay-strict)"
    );
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY), "the key leaked into: {text}");
    assert!(!text.contains(&KEY[3..]), "part of the key leaked into: {text}");
}

#[tokio::test]
async fn the_key_never_leaks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-agentless-stage", "rejected"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string(format!("{{\"error\":\"Incorrect API key provided: {KEY}\"}}")),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-agentless-stage", "garbled"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!("you sent {KEY}")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&["fine"], 1, 1)))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("transcript.jsonl");
    let options = ClientOptions {
        record: Some(transcript.clone()),
        cache_dir: Some(dir.path().join("cache")),
        ..ClientOptions::default()
    };
    let client =
        support::client(support::provider(WireApi::OpenAiChat, &server.uri()), "m", options, Ledger::default());
    let debug = format!("{client:?}");
    assert!(debug.contains("ApiKey(***)"), "{debug}");
    assert_no_key(&debug);
    for stage in ["rejected", "garbled"] {
        let error = client.complete(&support::request(stage, "p", 1, 0.0)).await.unwrap_err();
        assert_no_key(&error.to_string());
        assert_no_key(&format!("{error:?}"));
    }
    let completion = client.complete(&support::request("repair", "p", 1, 0.0)).await.unwrap();
    assert_eq!(completion.samples, ["fine"]);
    let recorded = fs_err::read_to_string(&transcript).unwrap();
    assert!(recorded.contains("\"fine\""), "{recorded}");
    assert_no_key(&recorded);
    assert_no_key(&format!("{:?}", client.ledger()));

    let refused = support::client(
        support::provider(WireApi::Anthropic, "http://127.0.0.1:1/v1"),
        "m",
        ClientOptions::default(),
        Ledger::default(),
    );
    assert_no_key(&format!("{refused:?}"));
    let error = refused.complete(&support::request("repair", "p", 1, 0.0)).await.unwrap_err();
    assert_no_key(&format!("{error} {error:?}"));
    let embedder = OpenAiEmbedder::with_env(
        &support::provider(WireApi::OpenAiChat, &server.uri()),
        "e",
        EmbedderOptions::default(),
        Ledger::default(),
        &support::env,
    )
    .unwrap();
    assert_no_key(&format!("{embedder:?}"));
}
