//! Validation of a set of candidates: plan the regression set and the reproduction test once, run every distinct
//! patch in the sandboxes, and select.

use std::collections::HashMap;
use std::time::Duration;

use agentless_model::{LanguageModel, ModelError};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::ValidateError;
use crate::regression::{self, RegressionPlan, RegressionResult};
use crate::reproduction::{self, ReproductionPlan, Verdict};
use crate::sandbox::Sandbox;
use crate::selection::{self, Evaluated, Selection};
use crate::test_command::TestCommand;

/// A candidate as validation sees it, in the interleaved sample order ties are broken by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidatePatch {
    pub model_patch: String,
    pub normalized_patch: String,
}

#[derive(Debug, Clone)]
pub struct ValidateOptions {
    pub test_command: TestCommand,
    /// Run the regression tests (the original's `--regression`).
    pub regression: bool,
    /// Generate and run reproduction tests (the original's `--reproduction`); 0 turns them off.
    pub reproduction_tests: u32,
    pub reproduction_temperature: f32,
    pub test_timeout: Duration,
    pub reproduction_timeout: Duration,
    /// Bytes of output kept per run.
    pub output_cap: usize,
}

/// One distinct patch's results (shared by every candidate with the same raw patch).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatchResult {
    pub applied: bool,
    pub apply_log: String,
    pub regression: Option<RegressionResult>,
    pub reproduction: Option<Verdict>,
    pub test_log: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationReport {
    pub test_command: TestCommand,
    pub regression: Option<RegressionPlan>,
    pub reproduction: Option<ReproductionPlan>,
    /// For each input candidate, the index into `patch_results` of its raw patch (`None` for empty patches).
    pub candidate_patch: Vec<Option<usize>>,
    pub patch_results: Vec<PatchResult>,
    pub evaluated: Vec<Evaluated>,
    pub selection: Selection,
    /// Set when the budget ran out during validation; what ran is kept.
    pub stopped: Option<String>,
}

impl ValidationReport {
    pub fn chosen_patch(&self) -> Option<&str> {
        self.selection
            .chosen
            .and_then(|index| self.evaluated.get(index))
            .map(|evaluated| evaluated.model_patch.as_str())
    }
}

/// Validate `candidates` using the sandboxes in `pool` (one job per sandbox at a time).
pub async fn validate(
    model: &dyn LanguageModel,
    pool: &[Box<dyn Sandbox>],
    issue: &str,
    candidates: &[CandidatePatch],
    options: &ValidateOptions,
) -> Result<ValidationReport, ValidateError> {
    let Some(first) = pool.first() else {
        return Err(ValidateError::NoSandbox);
    };
    let mut stopped = None;
    // A spent budget stops the planning cleanly (validation goes on without that part); other errors fail.
    let regression_plan = if options.regression {
        match regression::plan(
            model,
            first.as_ref(),
            &options.test_command,
            issue,
            options.test_timeout,
            options.output_cap,
        )
        .await
        {
            Err(ValidateError::Model(error @ ModelError::BudgetExhausted { .. })) => {
                stopped = Some(error.to_string());
                None
            }
            result => Some(result?),
        }
    } else {
        None
    };
    let reproduction_plan = if options.reproduction_tests > 0 && stopped.is_none() {
        match reproduction::plan(
            model,
            first.as_ref(),
            issue,
            options.reproduction_tests,
            options.reproduction_temperature,
            options.reproduction_timeout,
            options.output_cap,
        )
        .await
        {
            Err(ValidateError::Model(error @ ModelError::BudgetExhausted { .. })) => {
                stopped = Some(error.to_string());
                None
            }
            result => Some(result?),
        }
    } else {
        None
    };

    // One run per distinct raw patch.
    let mut distinct: Vec<&str> = Vec::new();
    let mut slot_of: HashMap<&str, usize> = HashMap::new();
    let candidate_patch: Vec<Option<usize>> = candidates
        .iter()
        .map(|candidate| {
            let patch = candidate.model_patch.as_str();
            if patch.trim().is_empty() {
                return None;
            }
            Some(*slot_of.entry(patch).or_insert_with(|| {
                distinct.push(patch);
                distinct.len() - 1
            }))
        })
        .collect();

    let free: Mutex<Vec<usize>> = Mutex::new((0..pool.len()).collect());
    let reproduction_code = reproduction_plan.as_ref().and_then(ReproductionPlan::chosen_code);
    let total = distinct.len();
    let mut patch_results: Vec<Option<PatchResult>> = vec![None; total];
    // Owned jobs: a stream of borrowed items trips the compiler's `Send` check for callers behind `async_trait`.
    let jobs: Vec<(usize, String)> = distinct.iter().map(|patch| (*patch).to_owned()).enumerate().collect();
    let regression_plan_ref = regression_plan.as_ref();
    let free_ref = &free;
    let mut runs = futures::stream::iter(jobs)
        .map(move |(slot, patch)| async move {
            let Some(worker) = free_ref.lock().await.pop() else {
                return (slot, Err(ValidateError::NoSandbox));
            };
            tracing::info!(stage = "validate", "patch {}/{total}", slot + 1);
            let result =
                run_patch(pool[worker].as_ref(), &patch, regression_plan_ref, reproduction_code, options).await;
            free_ref.lock().await.push(worker);
            (slot, result)
        })
        .buffer_unordered(pool.len());
    while let Some((slot, result)) = runs.next().await {
        patch_results[slot] = Some(result?);
    }
    drop(runs);
    let patch_results: Vec<PatchResult> = patch_results.into_iter().flatten().collect();

    let evaluated: Vec<Evaluated> = candidates
        .iter()
        .zip(&candidate_patch)
        .map(|(candidate, slot)| {
            let result = slot.and_then(|slot| patch_results.get(slot));
            Evaluated {
                model_patch: candidate.model_patch.clone(),
                normalized_patch: candidate.normalized_patch.clone(),
                regression_failures: result.and_then(|result| result.regression.as_ref()).map(|r| r.failing.len()),
                reproduction_passed: result
                    .and_then(|result| result.reproduction)
                    .map(|verdict| verdict == Verdict::Resolved),
            }
        })
        .collect();
    let selection = selection::select(&evaluated);
    Ok(ValidationReport {
        test_command: options.test_command.clone(),
        regression: regression_plan,
        reproduction: reproduction_plan,
        candidate_patch,
        patch_results,
        evaluated,
        selection,
        stopped,
    })
}

async fn run_patch(
    sandbox: &dyn Sandbox,
    patch: &str,
    regression_plan: Option<&RegressionPlan>,
    reproduction_code: Option<&str>,
    options: &ValidateOptions,
) -> Result<PatchResult, ValidateError> {
    sandbox.reset().await?;
    let outcome = sandbox.apply_patch(patch).await?;
    let mut result = PatchResult {
        applied: outcome.applied(),
        apply_log: outcome.log(),
        regression: None,
        reproduction: None,
        test_log: String::new(),
    };
    if !result.applied {
        return Ok(result);
    }
    if let Some(plan) = regression_plan
        && let Some(command) = &plan.command
    {
        let (output, results) =
            regression::run_tests(sandbox, command, options.test_timeout, options.output_cap).await?;
        result.regression = Some(regression::compare(plan, &results, &output));
        result.test_log = format!("{}\n{}", output.stdout, output.stderr);
    }
    if let Some(code) = reproduction_code {
        let (verdict, _) =
            reproduction::run_test(sandbox, code, options.reproduction_timeout, options.output_cap).await?;
        result.reproduction = Some(verdict);
    }
    Ok(result)
}
