//! Integration tests of the repair crate: the whole stage against a scripted model, `git apply` on what it
//! keeps, gold patches round-tripped through SEARCH/REPLACE, and the differ checked by `git apply`.

mod diff_git;
mod gold_roundtrip;
mod stage;
mod support;
