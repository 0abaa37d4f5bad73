//! The Anthropic messages wire: one call per sample, prompt caching on the shared prefix, usage mapping.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agentless_model::client::ClientOptions;
use agentless_model::{LanguageModel, Ledger, Price, STAGE_HEADER, Usage, WireApi};
use pretty_assertions::assert_eq;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{self, KEY};

/// The first call writes the prompt cache, later ones read it, as Anthropic reports.
struct CachingServer {
    calls: AtomicUsize,
}

impl Respond for CachingServer {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let (read, written) = if call == 0 { (0, 1000) } else { (1000, 0) };
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": format!("msg_{call}"),
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": format!("patch {call}")}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 50,
                      "cache_read_input_tokens": read, "cache_creation_input_tokens": written}
        }))
    }
}

async fn caching_server(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header(STAGE_HEADER, "repair"))
        .respond_with(CachingServerWithDelay { inner: CachingServer { calls: AtomicUsize::new(0) }, delay })
        .mount(&server)
        .await;
    server
}

struct CachingServerWithDelay {
    inner: CachingServer,
    delay: Duration,
}

impl Respond for CachingServerWithDelay {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.inner.respond(request).set_delay(self.delay)
    }
}

#[tokio::test]
async fn samples_are_parallel_calls_sharing_a_cached_prefix() {
    let server = caching_server(Duration::ZERO).await;
    let price = Price { input: 3.0, output: 15.0, cached_input: Some(0.3), cache_write: Some(3.75) };
    let client = support::client(
        support::provider(WireApi::Anthropic, &format!("{}/v1", server.uri())),
        "claude-3-5-sonnet-20241022",
        ClientOptions { price: Some(price), ..ClientOptions::default() },
        Ledger::default(),
    );
    let completion = client.complete(&support::request("repair", "Fix the bug.", 3, 0.8)).await.unwrap();
    assert_eq!(completion.samples[0], "patch 0", "the first call goes alone");
    let mut samples = completion.samples.clone();
    samples.sort();
    assert_eq!(samples, ["patch 0", "patch 1", "patch 2"]);
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 3 * 20 + 3000,
            completion_tokens: 150,
            cached_tokens: 2000,
            cache_creation_tokens: 1000
        }
    );
    let expected = (60.0 * 3.0 + 2000.0 * 0.3 + 1000.0 * 3.75 + 150.0 * 15.0) / 1e6;
    assert!((completion.cost_usd - expected).abs() < 1e-12, "{} != {expected}", completion.cost_usd);
    let bodies = support::received_bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    assert!(bodies.iter().all(|body| *body == bodies[0]), "every sample sends the same body");
    insta::assert_json_snapshot!(bodies[0], @r#"
    {
      "max_tokens": 256,
      "messages": [
        {
          "content": [
            {
              "cache_control": {
                "type": "ephemeral"
              },
              "text": "Fix the bug.",
              "type": "text"
            }
          ],
          "role": "user"
        }
      ],
      "model": "claude-3-5-sonnet-20241022",
      "system": "You are a helpful assistant.",
      "temperature": 0.8
    }
    "#);
}

#[tokio::test]
async fn one_sample_is_not_marked_for_caching() {
    let server = caching_server(Duration::ZERO).await;
    let client = support::client(
        support::provider(WireApi::Anthropic, &format!("{}/v1", server.uri())),
        "claude",
        ClientOptions::default(),
        Ledger::default(),
    );
    let completion = client.complete(&support::request("repair", "Fix it.", 1, 0.0)).await.unwrap();
    assert_eq!(completion.samples, ["patch 0"]);
    assert_eq!(completion.cost_usd, 0.0, "no price, no cost");
    let bodies = support::received_bodies(&server).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["messages"][0]["content"][0].get("cache_control"), None);
}

#[tokio::test]
async fn the_concurrency_limit_holds_parallel_samples_back() {
    let server = caching_server(Duration::from_millis(150)).await;
    let mut provider = support::provider(WireApi::Anthropic, &format!("{}/v1", server.uri()));
    provider.max_concurrency = 1;
    let client = support::client(provider, "claude", ClientOptions::default(), Ledger::default());
    let started = Instant::now();
    let completion = client.complete(&support::request("repair", "Fix it.", 3, 0.8)).await.unwrap();
    assert_eq!(completion.samples.len(), 3);
    // One request in flight at a time: three delays back to back.
    assert!(started.elapsed() >= Duration::from_millis(450), "{:?}", started.elapsed());
}
