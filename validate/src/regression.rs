//! Regression tests: the tests that pass on the original, minus those the model says the fix may change, and
//! how many of them each candidate breaks.

use std::collections::BTreeMap;
use std::time::Duration;

use agentless_model::{ChatRequest, LanguageModel, Usage};
use agentless_prompts::Template;
use serde::{Deserialize, Serialize};

use crate::ValidateError;
use crate::sandbox::{ExecOutput, Sandbox};
use crate::test_command::{TestCommand, TestStatus};

/// The stage header of the exclusion request.
pub const STAGE: &str = "validate.regression";

/// Prompts past this many estimated tokens (characters / 4) get a shorter list of tests, as the original does
/// against its 128k limit. Tests left out of the prompt still run: they just cannot be excluded.
const MAX_PROMPT_TOKENS: usize = 128_000;

/// The regression set of one issue.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RegressionPlan {
    pub command: Option<TestCommand>,
    /// Every test result of the run on the original.
    pub baseline: BTreeMap<String, TestStatus>,
    /// Tests that passed on the original (the original's `tests_passing_in_original_repo`).
    pub passing: Vec<String>,
    /// Tests the model named as ones the fix may legitimately change.
    pub excluded: Vec<String>,
    /// `passing` minus `excluded`: what every candidate must keep passing.
    pub kept: Vec<String>,
    pub raw_output: String,
    pub usage: Usage,
    pub cost_usd: f64,
    /// Exit code of the run on the original, and whether it timed out.
    pub baseline_exit_code: i32,
    pub baseline_timed_out: bool,
}

/// One candidate's regression result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegressionResult {
    /// Kept tests that failed, errored, were skipped or disappeared.
    pub failing: Vec<String>,
    pub exit_code: i32,
    pub timed_out: bool,
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
    let passing: Vec<String> =
        baseline.iter().filter(|(_, status)| status.is_pass()).map(|(name, _)| name.clone()).collect();
    let mut plan = RegressionPlan {
        command: Some(command.clone()),
        baseline,
        passing: passing.clone(),
        baseline_exit_code: output.exit_code,
        baseline_timed_out: output.timed_out,
        ..RegressionPlan::default()
    };
    if passing.is_empty() {
        return Ok(plan);
    }
    let mut shown = passing.len();
    let prompt = loop {
        let prompt = Template::RegressionSelect
            .render(&[("problem_statement", issue), ("passing_tests", &passing[..shown].join("\n"))])?;
        if prompt.len() / 4 < MAX_PROMPT_TOKENS || shown <= 1 {
            break prompt;
        }
        shown /= 2;
    };
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
    let named: Vec<&str> =
        raw.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("```")).collect();
    plan.excluded = passing[..shown].iter().filter(|test| named.contains(&test.as_str())).cloned().collect();
    plan.kept = passing.iter().filter(|test| !plan.excluded.contains(test)).cloned().collect();
    plan.raw_output = raw;
    plan.usage = completion.usage;
    plan.cost_usd = completion.cost_usd;
    Ok(plan)
}

/// How a candidate's run compares with the kept set: a test that is missing counts as failing.
pub fn compare(plan: &RegressionPlan, results: &BTreeMap<String, TestStatus>, output: &ExecOutput) -> RegressionResult {
    let failing =
        plan.kept.iter().filter(|test| !results.get(*test).is_some_and(|status| status.is_pass())).cloned().collect();
    RegressionResult { failing, exit_code: output.exit_code, timed_out: output.timed_out }
}
