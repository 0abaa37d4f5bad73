//! The HTTP transport: one POST of JSON with headers, retried by a [`RetryPolicy`] kept as data.

use std::time::Duration;

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
