//! Integration tests of `agentless-syntax`: structures checked against CPython's `ast`, skeleton snapshots,
//! snapshots of repositories built on the fly, and the index with its cache.

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod snapshots;
