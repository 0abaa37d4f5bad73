//! How much validation could check: the regression and reproduction tests actually run, the original's test
//! health, what weakened them, and a selection reason that names what was actually used.

use serde::{Deserialize, Serialize};

use crate::ValidationReport;
use crate::baseline::BaselineHealth;
use crate::regression::RegressionPlan;
use crate::reproduction::ReproductionPlan;
use crate::selection::SelectionRule;

/// How much validation could check, for a machine to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationStrength {
    /// Regression tests run on every candidate (those that passed on the original, minus the excluded).
    pub regression_tests_run: usize,
    /// Reproduction tests run on every candidate (the majority one of those that reproduce the issue: 0 or 1).
    pub reproduction_tests_kept: usize,
    /// How the tests fared on the original; `None` when they were not run on it.
    pub baseline: Option<BaselineHealth>,
}

impl ValidationReport {
    pub fn strength(&self) -> ValidationStrength {
        let regression = self.regression.as_ref().filter(|plan| plan.command.is_some());
        ValidationStrength {
            regression_tests_run: regression.map_or(0, |plan| plan.kept.len()),
            reproduction_tests_kept: usize::from(
                self.reproduction.as_ref().and_then(ReproductionPlan::chosen_code).is_some(),
            ),
            baseline: regression.and_then(|plan| plan.health.clone()),
        }
    }

    /// Why the chosen patch won, naming what was actually used: when the rule ranked by regressions but no
    /// regression test ran, it says so and why, pointing at `baseline_log` (where the caller keeps the run on the
    /// original).
    pub fn selection_reason(&self, baseline_log: &str) -> String {
        let strength = self.strength();
        let unavailable = match (&strength.baseline, self.regression.as_ref()) {
            (Some(BaselineHealth { exit_code, problem: Some(problem), .. }), _) => {
                format!("regression tests unavailable: {problem} (exit {exit_code}; {baseline_log})")
            }
            (_, Some(plan)) if !plan.passing.is_empty() => {
                "regression tests unavailable: every test that passed on the original was excluded".to_owned()
            }
            _ => format!("regression tests unavailable: no test passed on the original ({baseline_log})"),
        };
        match (self.selection.rule, strength.regression_tests_run) {
            (SelectionRule::RegressionAndReproduction, 0) => format!("{unavailable}; the reproduction test passes"),
            (SelectionRule::RegressionOnly, 0) => format!(
                "{unavailable}; majority vote among the patches that apply (no candidate passed a reproduction test)"
            ),
            (rule, _) => rule_text(rule).to_owned(),
        }
    }
}

/// What each step of the selection rule means, for a person.
fn rule_text(rule: SelectionRule) -> &'static str {
    match rule {
        SelectionRule::RegressionAndReproduction => "fewest regressions and the reproduction test passes",
        SelectionRule::RegressionOnly => "fewest regressions (no candidate passed a reproduction test)",
        SelectionRule::ReproductionOnly => "the reproduction test passes (no regression results)",
        SelectionRule::VoteOnly => "majority vote (no test results)",
        SelectionRule::NoCandidate => "no candidate",
    }
}

/// What weakens the regression tests, if anything: a baseline that is no baseline, or no test left to run.
pub(crate) fn regression_degradation(plan: &RegressionPlan) -> Option<String> {
    let timed_out = if plan.baseline_timed_out { ", timed out" } else { "" };
    let exit = format!("exit {}{timed_out}", plan.baseline_exit_code);
    match (&plan.health, plan.kept.is_empty()) {
        (Some(BaselineHealth { problem: Some(problem), .. }), true) => {
            Some(format!("regression tests unavailable: {problem} ({exit})"))
        }
        (Some(BaselineHealth { problem: Some(problem), .. }), false) => Some(format!(
            "regression tests weakened: {problem} ({exit}); only the {} tests that passed are run",
            plan.kept.len()
        )),
        (Some(BaselineHealth { problem: None, .. }), true) => Some(
            "regression tests unavailable: every test that passed on the original was excluded as one the fix may \
             change"
                .to_owned(),
        ),
        (None, true) if plan.passing.is_empty() => {
            Some(format!("regression tests unavailable: no test passed on the original ({exit})"))
        }
        (Some(BaselineHealth { problem: None, .. }) | None, _) => None,
    }
}

/// The original's test output passed the output cap: some passing tests may be missing from the regression set.
pub(crate) fn truncation_degradation(plan: &RegressionPlan) -> Option<String> {
    (plan.baseline_output_truncated && !plan.kept.is_empty()).then(|| {
        "regression tests weakened: the original's test output passed the output cap and its middle was cut, so \
         tests reported only there are not regression tests (raise `output_cap` in agentless.toml)"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_baseline_output_weakens_the_regression_tests_only_when_some_are_kept() {
        let plan = |truncated: bool, kept: &[&str]| RegressionPlan {
            baseline_output_truncated: truncated,
            kept: kept.iter().map(|test| (*test).to_owned()).collect(),
            ..RegressionPlan::default()
        };
        let weakened = truncation_degradation(&plan(true, &["tests/test_a.py::test_a"])).unwrap();
        assert!(weakened.starts_with("regression tests weakened: the original's test output passed the output cap"));
        assert_eq!(truncation_degradation(&plan(false, &["tests/test_a.py::test_a"])), None);
        // With none kept, the other degradation already says the tests are unavailable.
        assert_eq!(truncation_degradation(&plan(true, &[])), None);
    }
}
