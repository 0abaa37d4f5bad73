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
use crate::selection::{self, Evaluated, Selection};
use crate::test_command::TestCommand;
use agentless_sandbox::{Isolation, Sandbox, SandboxError};

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
    /// Set when the sandbox failed on this patch twice (the worker replaced in between): the patch has no verdict.
    #[serde(default)]
    pub error: Option<String>,
    /// Sandbox faults this patch's run recovered from (the worker was replaced and the run redone).
    #[serde(default)]
    pub recovered_faults: Vec<String>,
}

impl PatchResult {
    fn failed(cause: String) -> Self {
        Self {
            applied: false,
            apply_log: String::new(),
            regression: None,
            reproduction: None,
            test_log: String::new(),
            error: Some(cause),
            recovered_faults: Vec::new(),
        }
    }
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
    /// What the sandboxes isolate (the first worker's; every worker of a run is made alike).
    #[serde(default)]
    pub isolation: Option<Isolation>,
    /// Parts of validation that could not run, with their cause (a planning run lost to a sandbox fault).
    #[serde(default)]
    pub degradations: Vec<String>,
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
    let mut degradations = Vec::new();
    // A spent budget stops the planning cleanly (validation goes on without that part); a sandbox fault is retried
    // once on a recovered worker and then degrades that part; other errors fail.
    let regression_plan = if options.regression {
        let planned = with_recovery(first.as_ref(), || {
            regression::plan(
                model,
                first.as_ref(),
                &options.test_command,
                issue,
                options.test_timeout,
                options.output_cap,
            )
        })
        .await;
        plan_part(planned, "regression", &mut stopped, &mut degradations)?
    } else {
        None
    };
    let reproduction_plan = if options.reproduction_tests > 0 && stopped.is_none() {
        let planned = with_recovery(first.as_ref(), || {
            reproduction::plan(
                model,
                first.as_ref(),
                issue,
                options.reproduction_tests,
                options.reproduction_temperature,
                options.reproduction_timeout,
                options.output_cap,
            )
        })
        .await;
        plan_part(planned, "reproduction", &mut stopped, &mut degradations)?
    } else {
        None
    };
    if let Some(plan) = &regression_plan
        && plan.passing.is_empty()
    {
        degradations.push(format!(
            "regression tests unavailable: no test passed on the original (the test command exited with {}{})",
            plan.baseline_exit_code,
            if plan.baseline_timed_out { ", timed out" } else { "" }
        ));
    }
    if let Some(plan) = &reproduction_plan
        && plan.chosen_code().is_none()
    {
        degradations.push(format!(
            "no reproduction test: none of the {} generated reproduced the issue on the original",
            plan.tests.len()
        ));
    }
    for degradation in &degradations {
        tracing::warn!(stage = "validate", "{degradation}");
    }

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

    let workers = Workers::new(pool.len());
    let reproduction_code = reproduction_plan.as_ref().and_then(ReproductionPlan::chosen_code);
    let total = distinct.len();
    let mut patch_results: Vec<Option<PatchResult>> = vec![None; total];
    // Owned jobs: a stream of borrowed items trips the compiler's `Send` check for callers behind `async_trait`.
    let jobs: Vec<(usize, String)> = distinct.iter().map(|patch| (*patch).to_owned()).enumerate().collect();
    let regression_plan_ref = regression_plan.as_ref();
    let workers_ref = &workers;
    let mut runs = futures::stream::iter(jobs)
        .map(move |(slot, patch)| async move {
            let Some(worker) = workers_ref.take().await else {
                let cause = "no working sandbox is left (every worker failed and could not be replaced)";
                return (slot, Ok(PatchResult::failed(cause.to_owned())));
            };
            tracing::info!(stage = "validate", "patch {}/{total}", slot + 1);
            let sandbox = pool[worker].as_ref();
            let result = match with_recovery(sandbox, || {
                run_patch(sandbox, &patch, regression_plan_ref, reproduction_code, options)
            })
            .await
            {
                Ok(result) => {
                    workers_ref.give_back(worker).await;
                    Ok(result)
                }
                Err(ValidateError::Sandbox(error)) => {
                    tracing::warn!(stage = "validate", "patch {}/{total} has no verdict: {error}", slot + 1);
                    // A worker that cannot be recovered is retired; one that can goes back to the pool.
                    match sandbox.recover().await {
                        Ok(()) => workers_ref.give_back(worker).await,
                        Err(lost) => {
                            tracing::warn!(stage = "validate", "a sandbox worker is retired: {lost}");
                            workers_ref.retire().await;
                        }
                    }
                    Ok(PatchResult::failed(error.to_string()))
                }
                Err(other) => {
                    workers_ref.give_back(worker).await;
                    Err(other)
                }
            };
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
        isolation: Some(first.isolation()),
        degradations,
    })
}

/// Run `attempt`; on a sandbox fault, recover the sandbox (a fresh worker in the pristine state) and run it once
/// more, noting the first fault. A second fault, or a failed recovery, is returned as the error.
/// A plan, or `None` when a spent budget stopped it (noted in `stopped`) or the sandbox failed twice (noted as a
/// degradation of `part`); other errors fail validation.
fn plan_part<T>(
    planned: Result<T, ValidateError>,
    part: &str,
    stopped: &mut Option<String>,
    degradations: &mut Vec<String>,
) -> Result<Option<T>, ValidateError> {
    match planned {
        Err(ValidateError::Model(error @ ModelError::BudgetExhausted { .. })) => {
            *stopped = Some(error.to_string());
            Ok(None)
        }
        Err(ValidateError::Sandbox(error)) => {
            degradations.push(format!("{part} tests unavailable: the sandbox failed twice: {error}"));
            Ok(None)
        }
        result => result.map(Some),
    }
}

async fn with_recovery<T, F, Fut>(sandbox: &dyn Sandbox, mut attempt: F) -> Result<T, ValidateError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ValidateError>>,
    T: RecordsFaults,
{
    let first = match attempt().await {
        Err(ValidateError::Sandbox(error)) => error,
        other => return other,
    };
    tracing::warn!(stage = "validate", "sandbox fault, replacing the worker and retrying once: {first}");
    sandbox.recover().await.map_err(|error| {
        ValidateError::Sandbox(SandboxError::Unrecoverable { cause: format!("{first}; recovery failed: {error}") })
    })?;
    match attempt().await {
        Ok(mut value) => {
            value.record_fault(first.to_string());
            Ok(value)
        }
        Err(ValidateError::Sandbox(second)) => Err(ValidateError::Sandbox(SandboxError::Unrecoverable {
            cause: format!("{first}; after a fresh worker: {second}"),
        })),
        Err(other) => Err(other),
    }
}

/// Results that keep the sandbox faults their run recovered from.
trait RecordsFaults {
    fn record_fault(&mut self, fault: String);
}

impl RecordsFaults for PatchResult {
    fn record_fault(&mut self, fault: String) {
        self.recovered_faults.push(fault);
    }
}

impl RecordsFaults for RegressionPlan {
    fn record_fault(&mut self, fault: String) {
        tracing::info!(stage = "validate", "the regression baseline recovered from: {fault}");
    }
}

impl RecordsFaults for ReproductionPlan {
    fn record_fault(&mut self, fault: String) {
        tracing::info!(stage = "validate", "the reproduction planning recovered from: {fault}");
    }
}

/// The pool's idle workers; a retired worker never comes back, and when none is left waiting ends.
struct Workers {
    idle: Mutex<(Vec<usize>, usize)>,
    returned: tokio::sync::Notify,
}

impl Workers {
    fn new(count: usize) -> Self {
        Self { idle: Mutex::new(((0..count).collect(), count)), returned: tokio::sync::Notify::new() }
    }

    /// An idle worker, waiting for one while any is alive; `None` when every worker is retired.
    async fn take(&self) -> Option<usize> {
        loop {
            let notified = self.returned.notified();
            {
                let mut idle = self.idle.lock().await;
                if let Some(worker) = idle.0.pop() {
                    return Some(worker);
                }
                if idle.1 == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    async fn give_back(&self, worker: usize) {
        self.idle.lock().await.0.push(worker);
        self.returned.notify_waiters();
    }

    async fn retire(&self) {
        let mut idle = self.idle.lock().await;
        idle.1 = idle.1.saturating_sub(1);
        drop(idle);
        self.returned.notify_waiters();
    }
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
        error: None,
        recovered_faults: Vec::new(),
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
        if result.regression.is_some() {
            // Each test run starts from the pristine state, as the original's fresh container per run does: what
            // the regression run wrote cannot change the reproduction verdict.
            sandbox.reset().await?;
            let again = sandbox.apply_patch(patch).await?;
            if !again.applied() {
                return Err(ValidateError::Sandbox(SandboxError::Internal {
                    action: "re-applying the patch for the reproduction test".to_owned(),
                    exit_code: -1,
                    output: again.log(),
                }));
            }
        }
        let (verdict, _) =
            reproduction::run_test(sandbox, code, options.reproduction_timeout, options.output_cap).await?;
        result.reproduction = Some(verdict);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use agentless_model::{ChatRequest, Completion};
    use async_trait::async_trait;

    use super::*;
    use agentless_sandbox::{ExecOutput, ExecRequest, PatchMethod, PatchOutcome};

    /// A model that is never asked (neither regression nor reproduction tests are planned here).
    struct Unasked;

    #[async_trait]
    impl LanguageModel for Unasked {
        fn name(&self) -> &str {
            "unasked"
        }

        async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
            panic!("no model call expected, got {}", request.stage)
        }
    }

    /// A sandbox whose `apply_patch` faults for patches holding `FAULT` (always) or `ONCE` (the first time); it can
    /// be recovered `recoveries_left` times.
    struct Faulty {
        recoveries: AtomicUsize,
        recoveries_left: AtomicUsize,
        seen: StdMutex<Vec<String>>,
    }

    impl Faulty {
        fn new(recoveries_left: usize) -> Self {
            Self {
                recoveries: AtomicUsize::new(0),
                recoveries_left: AtomicUsize::new(recoveries_left),
                seen: StdMutex::new(Vec::new()),
            }
        }
    }

    #[async_trait]
    impl Sandbox for Faulty {
        fn workdir(&self) -> &str {
            "/repo"
        }

        fn isolation(&self) -> Isolation {
            Isolation {
                mechanism: "fake".to_owned(),
                network_cut: true,
                host_read_only: true,
                secrets_hidden: true,
                processes_contained: true,
                process_limit: None,
                memory_limit: None,
            }
        }

        async fn exec(&self, _request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
            Err(SandboxError::EmptyArgv)
        }

        async fn write_file(&self, _relative_path: &str, _contents: &[u8]) -> Result<(), SandboxError> {
            Ok(())
        }

        async fn reset(&self) -> Result<(), SandboxError> {
            Ok(())
        }

        async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError> {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let first_time = !seen.iter().any(|earlier| earlier == patch);
            seen.push(patch.to_owned());
            if patch.contains("FAULT") || (patch.contains("ONCE") && first_time) {
                return Err(SandboxError::ContainerGone { container: "worker-1".to_owned() });
            }
            Ok(PatchOutcome { method: Some(PatchMethod::GitApply), attempts: Vec::new() })
        }

        async fn recover(&self) -> Result<(), SandboxError> {
            self.recoveries.fetch_add(1, Ordering::SeqCst);
            let left = self.recoveries_left.load(Ordering::SeqCst);
            if left == 0 {
                return Err(SandboxError::Unrecoverable { cause: "no container can be started".to_owned() });
            }
            self.recoveries_left.store(left - 1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn candidate(patch: &str) -> CandidatePatch {
        CandidatePatch { model_patch: patch.to_owned(), normalized_patch: patch.to_owned() }
    }

    fn options() -> ValidateOptions {
        ValidateOptions {
            test_command: TestCommand::from_user("true"),
            regression: false,
            reproduction_tests: 0,
            reproduction_temperature: 0.8,
            test_timeout: Duration::from_secs(1),
            reproduction_timeout: Duration::from_secs(1),
            output_cap: 1024,
        }
    }

    #[tokio::test]
    async fn a_sandbox_fault_is_retried_on_a_recovered_worker_and_then_recorded_as_that_candidates_error() {
        let pool: Vec<Box<dyn Sandbox>> = vec![Box::new(Faulty::new(10))];
        let candidates = [candidate("a ONCE"), candidate("b FAULT"), candidate("c"), candidate("")];
        let report = validate(&Unasked, &pool, "issue", &candidates, &options()).await.unwrap();
        let results: Vec<&PatchResult> = report.patch_results.iter().collect();
        assert_eq!(results.len(), 3);
        // Recovered once: applied, and the fault is kept.
        assert!(results[0].applied && results[0].error.is_none(), "{:?}", results[0]);
        assert_eq!(results[0].recovered_faults.len(), 1);
        // Faulted twice: no verdict, the cause recorded, the run goes on.
        assert!(!results[1].applied, "{:?}", results[1]);
        assert!(results[1].error.as_deref().is_some_and(|error| error.contains("worker-1")), "{:?}", results[1]);
        assert!(results[2].applied && results[2].error.is_none());
        assert_eq!(report.selection.chosen.map(|index| report.evaluated[index].model_patch.as_str()), Some("a ONCE"));
        assert_eq!(report.isolation.as_ref().map(|isolation| isolation.mechanism.as_str()), Some("fake"));
    }

    #[tokio::test]
    async fn a_worker_that_cannot_be_recovered_is_retired_and_later_candidates_get_an_error() {
        let pool: Vec<Box<dyn Sandbox>> = vec![Box::new(Faulty::new(0))];
        let candidates = [candidate("a FAULT"), candidate("b"), candidate("c")];
        let report = validate(&Unasked, &pool, "issue", &candidates, &options()).await.unwrap();
        assert!(report.patch_results[0].error.as_deref().is_some_and(|error| error.contains("recovery failed")));
        for result in &report.patch_results[1..] {
            assert!(
                result.error.as_deref().is_some_and(|error| error.contains("no working sandbox is left")),
                "{result:?}"
            );
        }
    }
}
