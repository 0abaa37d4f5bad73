//! The HTTP transport: one POST of JSON with headers, retried by a [`RetryPolicy`] kept as data.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use tokio::sync::Semaphore;

use crate::provider::ApiKey;
use crate::{ModelError, STAGE_HEADER};

/// How much of an error body is kept in [`ModelError::Status`].
const MAX_ERROR_BODY_CHARS: usize = 2000;

/// When and how often to retry. Backoff is `base_delay × 2^attempt × jitter(0.9..1.1)`, or the server's
/// `Retry-After` when it sends one (capped at `max_delay`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    #[serde(with = "millis")]
    pub base_delay: Duration,
    #[serde(with = "millis")]
    pub max_delay: Duration,
    pub retry_429: bool,
    pub retry_5xx: bool,
    /// Connection errors and timeouts.
    pub retry_transport: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(1000),
            max_delay: Duration::from_secs(60),
            retry_429: true,
            retry_5xx: true,
            retry_transport: true,
        }
    }
}

impl RetryPolicy {
    /// The pause after failed attempt number `attempt` (1-based): the server's `Retry-After` when it sent one,
    /// else exponential backoff with jitter; never more than `max_delay`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let delay = retry_after.unwrap_or_else(|| {
            let exponent = attempt.saturating_sub(1).min(30);
            let jitter = 0.9 + fastrand::f64() * 0.2;
            self.base_delay.mul_f64(f64::from(1u32 << exponent) * jitter)
        });
        delay.min(self.max_delay)
    }

    fn retries(&self, failure: &Failure) -> bool {
        match failure {
            Failure::Status { status, .. } => {
                (*status == StatusCode::TOO_MANY_REQUESTS && self.retry_429)
                    || (status.is_server_error() && self.retry_5xx)
            }
            // A request that cannot be built (a malformed URL) fails the same way every time.
            Failure::Transport(error) => self.retry_transport && !error.is_builder(),
        }
    }
}

/// What went wrong with one attempt.
enum Failure {
    Status { status: StatusCode, retry_after: Option<Duration>, body: String },
    Transport(reqwest::Error),
}

/// Everything the transport needs, all of it provider-neutral: headers to send with every request (marked
/// sensitive when they carry a key), a secret to scrub from error bodies, and the limits.
#[derive(Debug)]
pub struct TransportSettings {
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    pub max_concurrency: usize,
    pub headers: HeaderMap,
    pub secret: Option<ApiKey>,
}

/// POSTs JSON and returns the body of the first successful answer. Knows HTTP, retries and limits; knows no
/// provider.
#[derive(Debug)]
pub struct HttpTransport {
    client: reqwest::Client,
    retry: RetryPolicy,
    request_timeout: Duration,
    permits: Semaphore,
    secret: Option<ApiKey>,
}

impl HttpTransport {
    pub fn new(settings: TransportSettings) -> Result<Self, ModelError> {
        let TransportSettings { retry, request_timeout, max_concurrency, headers, secret } = settings;
        let client = reqwest::Client::builder().default_headers(headers).build().map_err(ModelError::HttpClient)?;
        Ok(Self { client, retry, request_timeout, permits: Semaphore::new(max_concurrency.max(1)), secret })
    }

    /// POST `body` as JSON to `url` with the [`STAGE_HEADER`], retrying as the policy says. Waits for a slot
    /// of the concurrency limit first; each attempt has its own timeout.
    pub async fn post_json(&self, url: &str, stage: &str, body: &impl serde::Serialize) -> Result<Vec<u8>, ModelError> {
        let body = serde_json::to_vec(body).map_err(ModelError::Encode)?;
        let stage_value =
            HeaderValue::from_str(stage).map_err(|_| ModelError::InvalidStage { stage: stage.to_owned() })?;
        // The semaphore is never closed; should it be, requests go out unlimited rather than fail.
        let _permit = self.permits.acquire().await.ok();
        let max_attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .client
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .header(STAGE_HEADER, stage_value.clone())
                .timeout(self.request_timeout)
                .body(body.clone())
                .send()
                .await;
            let failure = match sent {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => return Ok(bytes.into()),
                    Err(error) => Failure::Transport(error),
                },
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.trim().parse::<f64>().ok())
                        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok());
                    let body = response.text().await.unwrap_or_default();
                    Failure::Status { status, retry_after, body }
                }
                Err(error) => Failure::Transport(error),
            };
            if attempt >= max_attempts || !self.retry.retries(&failure) {
                return Err(self.give_up(url, attempt, failure));
            }
            let (reason, retry_after) = match &failure {
                Failure::Status { status, retry_after, .. } => (format!("HTTP {}", status.as_u16()), *retry_after),
                Failure::Transport(error) if error.is_timeout() => ("a timeout".to_owned(), None),
                Failure::Transport(_) => ("a connection error".to_owned(), None),
            };
            let delay = self.retry.delay(attempt, retry_after);
            tracing::warn!(
                "{stage}: {url} answered with {reason} (attempt {attempt}/{max_attempts}); retrying in {:.1}s",
                delay.as_secs_f64()
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// `text` with the secret, if any, replaced by `***`: servers sometimes echo the key they were sent.
    pub fn redact(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) => text.replace(secret.expose(), "***"),
            None => text.to_owned(),
        }
    }

    fn give_up(&self, url: &str, attempts: u32, failure: Failure) -> ModelError {
        let url = url.to_owned();
        match failure {
            Failure::Status { status, body, .. } => {
                let body = self.redact(&body);
                let body = match body.char_indices().nth(MAX_ERROR_BODY_CHARS) {
                    Some((cut, _)) => format!("{}… ({} bytes in all)", &body[..cut], body.len()),
                    None => body,
                };
                ModelError::Status { url, status: status.as_u16(), attempts, body }
            }
            Failure::Transport(source) if source.is_timeout() => ModelError::Timeout { url, attempts },
            Failure::Transport(source) => ModelError::Transport { url, attempts, source },
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = policy();
        for _ in 0..50 {
            let first = policy.delay(1, None);
            assert!((90..=110).contains(&first.as_millis()), "{first:?}");
            let third = policy.delay(3, None);
            assert!((360..=440).contains(&third.as_millis()), "{third:?}");
            assert_eq!(policy.delay(10, None), Duration::from_secs(1));
        }
        assert_eq!(policy.delay(u32::MAX, None), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let policy = policy();
        assert_eq!(policy.delay(1, Some(Duration::from_millis(700))), Duration::from_millis(700));
        assert_eq!(policy.delay(4, Some(Duration::from_millis(20))), Duration::from_millis(20));
        assert_eq!(policy.delay(1, Some(Duration::from_secs(120))), Duration::from_secs(1));
    }

    #[test]
    fn which_failures_are_retried() {
        let status = |code: u16| Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            body: String::new(),
        };
        let policy = RetryPolicy::default();
        assert!(policy.retries(&status(429)));
        assert!(policy.retries(&status(500)));
        assert!(policy.retries(&status(529)));
        assert!(!policy.retries(&status(400)));
        assert!(!policy.retries(&status(401)));
        let strict = RetryPolicy { retry_429: false, retry_5xx: false, ..RetryPolicy::default() };
        assert!(!strict.retries(&status(429)));
        assert!(!strict.retries(&status(503)));
    }

    #[test]
    fn redact_scrubs_the_secret() {
        let transport = HttpTransport::new(TransportSettings {
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(1),
            max_concurrency: 1,
            headers: HeaderMap::new(),
            secret: Some(ApiKey::new("sk-secret".to_owned())),
        })
        .unwrap();
        assert_eq!(transport.redact("bad key sk-secret given"), "bad key *** given");
        assert!(!format!("{transport:?}").contains("sk-secret"));
    }
}
