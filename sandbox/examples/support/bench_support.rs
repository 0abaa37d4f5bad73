//! What the sandbox benchmarks share: the `calc` project (the sandbox tests' fixture), its fix, and the statistics
//! they print.

use std::time::Duration;

use agentless_sandbox::{ProjectFiles, SandboxError};

/// The fix of the `calc` fixture the sandbox tests use.
pub const PATCH: &str = include_str!("../../tests/fixtures/calc_fix.patch");

/// A package with a bug and a pytest test that catches it.
pub fn calc_project() -> Result<ProjectFiles, SandboxError> {
    ProjectFiles::from_pairs([
        ("calc/__init__.py".to_owned(), b"from .core import add\n".to_vec()),
        ("calc/core.py".to_owned(), b"def add(a, b):\n    return a - b\n".to_vec()),
        (
            "tests/test_core.py".to_owned(),
            b"from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n".to_vec(),
        ),
    ])
}

/// The median and the 90th percentile of `samples` (not empty).
pub fn median_and_p90(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.9))
}
