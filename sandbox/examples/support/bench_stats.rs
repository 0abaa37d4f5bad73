//! Statistics the sandbox benchmarks print.

use std::time::Duration;

/// The median and the 90th percentile of `samples` (not empty).
pub fn median_and_p90(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.9))
}
