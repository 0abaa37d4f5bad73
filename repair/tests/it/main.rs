//! Integration tests of the repair crate: the whole stage against a scripted model, `git apply` on what it
//! keeps, gold patches round-tripped through SEARCH/REPLACE, and the differ checked by `git apply`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers of a test binary may panic

mod diff_git;
mod encoding;
mod gold_roundtrip;
mod parity;
mod stage;
mod support;
