//! Integration tests of the model client against `wiremock` servers on loopback.
#![expect(clippy::unwrap_used, reason = "test helpers and mock responders fail the test by panicking")]

mod anthropic;
mod cache;
mod embed;
mod ledger;
mod openai;
mod replay;
mod retries;
mod secrets;
mod support;
