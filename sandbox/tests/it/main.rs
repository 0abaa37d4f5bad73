//! Integration tests of the sandboxes: the local one always, the Docker one when an engine is reachable.
#![expect(clippy::unwrap_used, reason = "test helpers fail the test by panicking")]

mod docker;
mod housekeeping;
mod local;
mod support;
