//! Integration tests of the sandboxes: the local one always, the Docker one when an engine is reachable.

mod docker_sandbox;
mod local_sandbox;
mod support;
