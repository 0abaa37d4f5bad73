//! Named sets of pipeline defaults: `paper`, the original's documented SWE-bench run (`swebench infer` uses it),
//! and `local`, cheaper, for `agentless run`. A value given on the command line or in the config file wins
//! (`settings.rs`).
//!
//! Both presets share what the paper's run and ours agree on (the library defaults): 4 edit-location samples at
//! T=0.8, 10 repair samples per location sample (1 greedy + 9 at T=0.8), top 3 files, ±10 lines of context.

use agentless_localize::TestPaths;

use crate::args::PresetName;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    pub name: PresetName,
    /// Edit-location samples (the original's `--num_samples 4`).
    pub edit_samples: u32,
    /// Repair samples per location sample (`--max_samples 10`).
    pub samples: u32,
    /// Temperature of the sampled repairs (the original's 0.8).
    pub temperature: f32,
    /// Reproduction tests generated (`generate_reproduction_tests.py --max_samples 40`: 1 greedy + 39 at T=0.8).
    pub reproduction_tests: u32,
    /// Seconds a regression run may take (`run_regression_tests.py --timeout`, 1200); reproduction runs get at
    /// most 600 (`run_reproduction_tests.py --timeout`).
    pub test_timeout_secs: u64,
    /// Which paths count as tests and are hidden from localization: the original's rule (any component starting
    /// with `test`, which also hides library modules such as `flask/testing.py`) or the runners' conventions.
    pub test_paths: TestPaths,
}

/// The original's documented SWE-bench run (README_swebench.md).
pub const PAPER: Preset = Preset {
    name: PresetName::Paper,
    edit_samples: 4,
    samples: 10,
    temperature: 0.8,
    reproduction_tests: 40,
    test_timeout_secs: 1200,
    test_paths: TestPaths::AnyComponent,
};

/// Fewer reproduction tests and a shorter test timeout than the paper, and only conventional test paths hidden from
/// localization, for runs on one's own repository.
pub const LOCAL: Preset = Preset {
    reproduction_tests: 10,
    test_timeout_secs: 600,
    test_paths: TestPaths::Conventional,
    name: PresetName::Local,
    ..PAPER
};

impl Preset {
    pub fn named(name: PresetName) -> Preset {
        match name {
            PresetName::Paper => PAPER,
            PresetName::Local => LOCAL,
        }
    }

    /// One line saying what the preset sets.
    pub fn describe(&self) -> String {
        let name = match self.name {
            PresetName::Paper => "paper (the original's documented SWE-bench run)",
            PresetName::Local => "local",
        };
        format!(
            "preset {name}: {} edit-location samples, {} repair samples per location sample (1 greedy, the rest at \
             T={}), {} reproduction tests, regression tests time out after {} s (reproduction tests {} s), {}; \
             flags and the config file override",
            self.edit_samples,
            self.samples,
            self.temperature,
            self.reproduction_tests,
            self.test_timeout_secs,
            self.test_timeout_secs.min(600),
            match self.test_paths {
                TestPaths::AnyComponent => "paths with a component starting with `test` hidden as tests",
                TestPaths::Conventional => "conventional test paths hidden (tests/, test_*.py, *_test.py, conftest.py)",
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_is_the_documented_run_and_local_only_cuts_tests_and_timeouts() {
        insta::assert_snapshot!(PAPER.describe(), @"preset paper (the original's documented SWE-bench run): 4 edit-location samples, 10 repair samples per location sample (1 greedy, the rest at T=0.8), 40 reproduction tests, regression tests time out after 1200 s (reproduction tests 600 s), paths with a component starting with `test` hidden as tests; flags and the config file override");
        assert_eq!(
            (LOCAL.edit_samples, LOCAL.samples, LOCAL.reproduction_tests, LOCAL.test_timeout_secs),
            (4, 10, 10, 600)
        );
        assert_eq!((PAPER.test_paths, LOCAL.test_paths), (TestPaths::AnyComponent, TestPaths::Conventional));
    }
}
