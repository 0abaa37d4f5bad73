//! Checks against the real SWE-bench data in the shared data folder: Lite-S both ways, spec coverage, eval scripts,
//! and grading of synthetic all-passing logs with each instance's own parser.
#![expect(clippy::unwrap_used, reason = "test helpers fail the test by panicking")]

mod real_data;
mod runner;
