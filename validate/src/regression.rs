//! Regression tests: the tests that pass on the original, minus those the model says the fix may change, and
//! how many of them each candidate breaks.
//!
//! As the original (`run_regression_tests.py`, `select_regression_tests.py`, SWE-bench's grading): only tests that
//! PASSED on the original form the set (not XFAIL or XPASS); when the list is halved to fit the prompt, the tests
//! left out of the prompt are left out of the set; on a candidate a kept test counts as failing when it FAILED,
//! ERRORED or is missing (PASSED and XFAIL pass; SKIPPED, XPASS and unknown statuses count neither way).

use std::collections::BTreeMap;
use std::time::Duration;

use agentless_model::{ChatRequest, LanguageModel, Usage};
use agentless_prompts::Template;
use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::baseline::BaselineHealth;
use crate::test_command::TestCommand;
use agentless_sandbox::{ExecOutput, Sandbox};
use agentless_testlog::TestStatus;

/// The stage header of the exclusion request.
pub const STAGE: &str = "validate.regression";

/// Prompts past this many estimated tokens (characters / 4) get a list of tests halved until it fits, as the
/// original does against its 128k limit (counted with tiktoken). Tests left out of the prompt are not run.
const MAX_PROMPT_TOKENS: usize = 128_000;

/// The regression set of one issue.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RegressionPlan {
    pub command: Option<TestCommand>,
    /// Every test result of the run on the original.
    pub baseline: BTreeMap<String, TestStatus>,
    /// Tests that PASSED on the original (the original's `tests_passing_in_original_repo`).
    pub passing: Vec<String>,
    /// Passing tests cut from the prompt to fit it, and so not run (the end of `passing`).
    #[serde(default)]
    pub dropped: Vec<String>,
    /// Tests the model named as ones the fix may legitimately change.
    pub excluded: Vec<String>,
    /// `passing` minus `dropped` minus `excluded`: what every candidate must keep passing.
    pub kept: Vec<String>,
    pub raw_output: String,
    pub usage: Usage,
    pub cost_usd: f64,
    /// Exit code of the run on the original, and whether it timed out.
    pub baseline_exit_code: i32,
    pub baseline_timed_out: bool,
    /// Whether the run on the original is a usable baseline, and why not (`None` only in a plan from before it was
    /// recorded).
    #[serde(default)]
    pub health: Option<BaselineHealth>,
    /// The whole output (stdout, then stderr, up to the output cap) of the run on the original.
    #[serde(default)]
    pub baseline_output: String,
    /// The run on the original printed more than the output cap, so its middle was cut: tests reported only there
    /// are missing from `passing`.
    #[serde(default)]
    pub baseline_output_truncated: bool,
}

/// One candidate's regression result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegressionResult {
    /// Kept tests that failed, errored or disappeared.
    pub failing: Vec<String>,
    /// The exit code of the candidate's run; `None` when the suite was not run for it: no test was kept from the
    /// original's run (nothing to compare), or the results were recorded elsewhere.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
}

impl RegressionResult {
    /// The result of a candidate that applies when no test is kept: none of zero tests fails, and the suite is not
    /// run (it could only cost time).
    pub fn nothing_kept() -> Self {
        Self { failing: Vec::new(), exit_code: None, timed_out: false }
    }
}

pub(crate) async fn run_tests(
    sandbox: &dyn Sandbox,
    command: &TestCommand,
    timeout: Duration,
    output_cap: usize,
) -> Result<(ExecOutput, BTreeMap<String, TestStatus>), ValidateError> {
    let request = crate::shell_request(sandbox, &command.shell, timeout, output_cap);
    let output = sandbox.exec(&request).await?;
    let combined = format!("{}\n{}", output.stdout, output.stderr);
    let results = command.parse(&combined, output.exit_code);
    Ok((output, results))
}

/// Run the tests on the original and ask the model which passing tests to leave out.
pub async fn plan(
    model: &dyn LanguageModel,
    sandbox: &dyn Sandbox,
    command: &TestCommand,
    issue: &str,
    timeout: Duration,
    output_cap: usize,
) -> Result<RegressionPlan, ValidateError> {
    sandbox.reset().await?;
    tracing::info!(stage = STAGE, "running the tests on the original");
    let (output, baseline) = run_tests(sandbox, command, timeout, output_cap).await?;
    let passing = passed_tests(&baseline);
    let health = BaselineHealth::of(command, &output, &baseline);
    let mut plan = RegressionPlan {
        health: Some(health),
        baseline_output: format!("{}\n{}", output.stdout, output.stderr),
        command: Some(command.clone()),
        baseline,
        passing: passing.clone(),
        baseline_exit_code: output.exit_code,
        baseline_timed_out: output.timed_out,
        baseline_output_truncated: output.truncated,
        ..RegressionPlan::default()
    };
    if passing.is_empty() {
        return Ok(plan);
    }
    let (prompt, shown) = selection_prompt(issue, &passing, MAX_PROMPT_TOKENS)?;
    tracing::info!(stage = STAGE, "asking which of {} passing tests the fix may change", passing.len());
    let request = ChatRequest {
        stage: STAGE.to_owned(),
        system: Template::System.render(&[])?,
        prompt,
        temperature: 0.0,
        max_tokens: 1024,
        samples: 1,
        sample_key: 0,
    };
    let completion = model.complete(&request).await?;
    let raw = completion.samples.first().cloned().unwrap_or_default();
    (plan.excluded, plan.kept, plan.dropped) = split_passing(&passing, shown, &raw);
    if !plan.dropped.is_empty() {
        tracing::info!(stage = STAGE, "{} passing tests did not fit the prompt and are not run", plan.dropped.len());
    }
    plan.raw_output = raw;
    plan.usage = completion.usage;
    plan.cost_usd = completion.cost_usd;
    Ok(plan)
}

/// The tests whose status on the original is PASSED (the original's `tests_passing_in_original_repo`).
fn passed_tests(baseline: &BTreeMap<String, TestStatus>) -> Vec<String> {
    baseline.iter().filter(|(_, status)| **status == TestStatus::Passed).map(|(name, _)| name.clone()).collect()
}

/// The exclusion prompt and how many of `passing` it shows: the list is halved until the prompt fits `limit`
/// estimated tokens.
fn selection_prompt(issue: &str, passing: &[String], limit: usize) -> Result<(String, usize), ValidateError> {
    let mut shown = passing.len();
    loop {
        let prompt = Template::RegressionSelect
            .render(&[("problem_statement", issue), ("passing_tests", &passing[..shown].join("\n"))])?;
        if prompt.len() / 4 < limit || shown <= 1 {
            return Ok((prompt, shown));
        }
        shown /= 2;
    }
}

/// `(excluded, kept, dropped)`: the shown tests the answer names, the shown tests it does not, and the tests that
/// were not shown. Answer lines are trimmed and fences skipped (the original matches untrimmed lines).
fn split_passing(passing: &[String], shown: usize, answer: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let named: Vec<&str> =
        answer.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("```")).collect();
    let (shown, dropped) = passing.split_at(shown.min(passing.len()));
    let (excluded, kept): (Vec<String>, Vec<String>) =
        shown.iter().cloned().partition(|test| named.contains(&test.as_str()));
    (excluded, kept, dropped.to_vec())
}

/// How a candidate's run compares with the kept set: a kept test fails when it is missing, FAILED or ERRORED
/// (SWE-bench's `test_failed`, which the original's count comes from).
pub fn compare(plan: &RegressionPlan, results: &BTreeMap<String, TestStatus>, output: &ExecOutput) -> RegressionResult {
    let failing = plan.kept.iter().filter(|test| counts_as_failing(results.get(*test))).cloned().collect();
    RegressionResult { failing, exit_code: Some(output.exit_code), timed_out: output.timed_out }
}

fn counts_as_failing(status: Option<&TestStatus>) -> bool {
    match status {
        None | Some(TestStatus::Failed | TestStatus::Error) => true,
        Some(
            TestStatus::Passed | TestStatus::Xfail | TestStatus::Xpass | TestStatus::Skipped | TestStatus::Other(_),
        ) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop_data(name: &str) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let path = match name {
            "issue" => root.join("localize/tests/fixtures/shop.issue.md"),
            name => root.join("prompts/tests/data/shop").join(name),
        };
        fs_err::read_to_string(path).unwrap()
    }

    #[test]
    fn the_exclusion_prompt_is_the_original_s() {
        let inputs: serde_json::Value = serde_json::from_str(&shop_data("inputs.json")).unwrap();
        let passing: Vec<String> = serde_json::from_value(inputs["passing_tests"].clone()).unwrap();
        let (prompt, shown) = selection_prompt(&shop_data("issue"), &passing, MAX_PROMPT_TOKENS).unwrap();
        assert_eq!(shown, passing.len());
        pretty_assertions::assert_eq!(prompt, shop_data("regression_select.txt"));
    }

    #[test]
    fn only_tests_that_passed_on_the_original_are_regression_tests() {
        let baseline: BTreeMap<String, TestStatus> = [
            ("a", TestStatus::Passed),
            ("b", TestStatus::Xfail),
            ("c", TestStatus::Xpass),
            ("d", TestStatus::Skipped),
            ("e", TestStatus::Failed),
            ("f", TestStatus::Passed),
        ]
        .into_iter()
        .map(|(name, status)| (name.to_owned(), status))
        .collect();
        assert_eq!(passed_tests(&baseline), ["a", "f"]);
    }

    #[test]
    fn tests_cut_from_the_prompt_are_not_run() {
        let passing: Vec<String> = (0..8).map(|index| format!("tests/test_x.py::test_{index:03}")).collect();
        let issue = "x".repeat(40);
        let full = selection_prompt(&issue, &passing, usize::MAX).unwrap().0.len() / 4;
        let (prompt, shown) = selection_prompt(&issue, &passing, full - 20).unwrap();
        assert_eq!(shown, 4, "halved once");
        assert!(prompt.contains("test_003") && !prompt.contains("test_004"));
        let (excluded, kept, dropped) = split_passing(&passing, shown, "```\ntests/test_x.py::test_001\n```");
        assert_eq!(excluded, ["tests/test_x.py::test_001"]);
        assert_eq!(kept, ["tests/test_x.py::test_000", "tests/test_x.py::test_002", "tests/test_x.py::test_003"]);
        assert_eq!(dropped.len(), 4);
        assert_eq!(dropped[0], "tests/test_x.py::test_004");
    }

    #[test]
    fn a_kept_test_fails_when_missing_failed_or_errored() {
        let failing: Vec<Option<TestStatus>> = [
            None,
            Some(TestStatus::Failed),
            Some(TestStatus::Error),
            Some(TestStatus::Passed),
            Some(TestStatus::Xfail),
            Some(TestStatus::Xpass),
            Some(TestStatus::Skipped),
        ]
        .into_iter()
        .filter(|status| counts_as_failing(status.as_ref()))
        .collect();
        assert_eq!(failing, [None, Some(TestStatus::Failed), Some(TestStatus::Error)]);
    }
}
