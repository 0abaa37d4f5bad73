//! A 429's `Retry-After`, capped at `max_delay`, as the transport announces the pause in its log.
//!
//! A test binary of its own: it captures the log with a thread-local subscriber, and tracing's per-callsite interest
//! cache is shared by every thread of the process, so other tests logging at the same time made it miss the line now
//! and then.
#![expect(clippy::unwrap_used, reason = "test helpers and mock responders fail the test by panicking")]

use std::time::Duration;

use agentless_model::client::ClientOptions;
use agentless_model::{LanguageModel, Ledger, WireApi};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

#[tokio::test]
async fn a_429_waits_as_retry_after_says_capped_at_max_delay() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30").set_body_string("slow down"))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&["ok"], 1, 1)))
        .expect(1)
        .mount(&server)
        .await;
    let mut provider = support::provider(WireApi::OpenAiChat, &server.uri());
    provider.retry.max_delay = Duration::from_millis(300);
    // The transport announces each pause before it takes it: the announcement, not the clock, is checked.
    let log = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt().with_writer(log.clone()).with_ansi(false).finish();
    let completion = {
        let _default = tracing::subscriber::set_default(subscriber);
        support::client(provider, "m", ClientOptions::default(), Ledger::default())
            .complete(&support::request("repair", "p", 1, 0.0))
            .await
            .unwrap()
    };
    assert_eq!(completion.samples, ["ok"]);
    // Backoff alone would wait about 1 ms; Retry-After asks 30 s; max_delay caps it at 300 ms.
    let log = log.text();
    assert!(log.contains("answered with HTTP 429 (attempt 1/3); retrying in 0.3s"), "{log}");
}

/// Where a test's log lines go.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> tracing_subscriber::fmt::MakeWriter<'writer> for LogBuffer {
    type Writer = Self;

    fn make_writer(&'writer self) -> Self::Writer {
        self.clone()
    }
}
