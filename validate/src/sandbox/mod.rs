//! Sandboxes: one execution path behind one trait, with Docker (bollard) and local implementations.
