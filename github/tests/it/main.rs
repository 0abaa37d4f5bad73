//! Integration tests of the GitHub Action bot: a fake GitHub API on loopback, real git remotes, a fake pipeline.
#![expect(clippy::unwrap_used, reason = "test helpers and fixtures fail the test by panicking")]

mod action;
mod api;
mod push;
mod support;
