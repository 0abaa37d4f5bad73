//! Retries: 5xx until the attempts run out, timeouts, connection errors, and 4xx failing at once (429 with
//! `Retry-After`: `tests/retry_after.rs`).

use std::time::Duration;

use agentless_model::client::ClientOptions;
use agentless_model::{LanguageModel, Ledger, ModelClient, ModelError, Provider, WireApi};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support;

fn client(provider: Provider) -> ModelClient {
    support::client(provider, "m", ClientOptions::default(), Ledger::default())
}

#[tokio::test]
async fn a_500_forever_gives_up_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .expect(3)
        .mount(&server)
        .await;
    let error = client(support::provider(WireApi::OpenAiChat, &server.uri()))
        .complete(&support::request("repair", "p", 1, 0.0))
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::Status { status: 500, attempts: 3, .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "request to {}/chat/completions failed with HTTP 500 after 3 attempt(s): upstream exploded",
            server.uri()
        )
    );
}

#[tokio::test]
async fn a_slow_server_times_out_on_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(support::openai_answer(&["late"], 1, 1))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(2)
        .mount(&server)
        .await;
    let mut provider = support::provider(WireApi::OpenAiChat, &server.uri());
    provider.request_timeout = Duration::from_millis(100);
    provider.retry.max_attempts = 2;
    let error = client(provider).complete(&support::request("repair", "p", 1, 0.0)).await.unwrap_err();
    assert!(matches!(error, ModelError::Timeout { attempts: 2, .. }), "{error:?}");
    assert!(error.to_string().ends_with("timed out after 2 attempt(s)"), "{error}");
}

#[tokio::test]
async fn a_400_fails_at_once_with_a_truncated_body() {
    let server = MockServer::start().await;
    let long_body = format!("{{\"error\":\"context too long\"}}{}", "x".repeat(10_000));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(long_body))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(support::provider(WireApi::OpenAiChat, &server.uri()))
        .complete(&support::request("repair", "p", 1, 0.0))
        .await
        .unwrap_err();
    let ModelError::Status { status, attempts, body, .. } = &error else { panic!("{error:?}") };
    assert_eq!((*status, *attempts), (400, 1));
    assert!(body.starts_with("{\"error\":\"context too long\"}"), "{body}");
    assert!(body.chars().count() < 2100, "{} chars", body.chars().count());
    assert!(body.ends_with("(10028 bytes in all)"), "{}", &body[body.len() - 40..]);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = client(support::provider(WireApi::OpenAiChat, &format!("http://{address}/v1")))
        .complete(&support::request("repair", "p", 1, 0.0))
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::Transport { attempts: 3, .. }), "{error:?}");
}
