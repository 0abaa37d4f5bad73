//! The Anthropic messages wire: one call per sample, prompt caching on the shared prefix, usage mapping.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentless_model::client::ClientOptions;
use agentless_model::{LanguageModel, Ledger, Price, STAGE_HEADER, Usage, WireApi};
use pretty_assertions::assert_eq;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// A loopback server answering Anthropic messages calls that holds each request open for `hold` and records the
/// most requests it ever had in flight at once. `(base_url, most_in_flight)`.
async fn in_flight_counting_server(hold: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let counters = (Arc::clone(&in_flight), Arc::clone(&most));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (in_flight, most) = (Arc::clone(&counters.0), Arc::clone(&counters.1));
            tokio::spawn(async move {
                read_one_request(&mut socket).await;
                most.fetch_max(in_flight.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(hold).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let body = serde_json::json!({
                    "id": "msg", "type": "message", "role": "assistant", "stop_reason": "end_turn",
                    "content": [{"type": "text", "text": "patch"}],
                    "usage": {"input_tokens": 20, "output_tokens": 5}
                })
                .to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(response.as_bytes()).await.unwrap();
            });
        }
    });
    (base_url, most)
}

/// Reads the head and the `content-length` bytes of body of one HTTP/1.1 request.
async fn read_one_request(socket: &mut tokio::net::TcpStream) {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let read = socket.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the client closed the connection mid-request");
        received.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&received);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let length = text[..head_end]
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .map_or(0, |value| value.parse::<usize>().unwrap());
            if received.len() >= head_end + 4 + length {
                return;
            }
        }
    }
}

#[tokio::test]
async fn the_concurrency_limit_holds_parallel_samples_back() {
    // Each request is held long enough for unlimited parallel samples to overlap; the counter, not the clock,
    // is what is asserted (a limit of 3 makes it fail).
    let (base_url, most_in_flight) = in_flight_counting_server(Duration::from_millis(100)).await;
    let mut provider = support::provider(WireApi::Anthropic, &base_url);
    provider.max_concurrency = 1;
    let client = support::client(provider, "claude", ClientOptions::default(), Ledger::default());
    let completion = client.complete(&support::request("repair", "Fix it.", 3, 0.8)).await.unwrap();
    assert_eq!(completion.samples.len(), 3);
    assert_eq!(most_in_flight.load(Ordering::SeqCst), 1, "more than one request was in flight");
}
