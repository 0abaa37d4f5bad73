//! Validation of a set of candidates: plan the regression set and the reproduction test once, run every distinct
//! patch in the sandboxes, and select.

use std::collections::BTreeMap;
use std::time::Duration;

use agentless_candidate::{CandidateId, Patch};
use agentless_model::LanguageModel;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::ValidateError;
use crate::regression::{self, RegressionPlan, RegressionResult};
use crate::reproduction::{self, ReproductionPlan, Verdict};
use crate::selection::{self, Evaluated, Selection};
use crate::strength::{regression_degradation, truncation_degradation};
use crate::test_command::TestCommand;
use agentless_sandbox::{Isolation, Sandbox, SandboxError};

/// A candidate with a patch, as validation sees it; the vote breaks ties by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidatePatch {
    pub id: CandidateId,
    pub model_patch: Patch,
    /// The vote key; `None` when normalizing erases the change (the candidate is run but takes no part in the vote).
    pub normalized_patch: Option<Patch>,
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

/// One distinct patch's results, shared by every candidate with this raw patch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatchResult {
    pub patch: Patch,
    /// The candidates whose raw patch this is, in vote order.
    pub candidates: Vec<CandidateId>,
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
    fn failed(job: &PatchJob, cause: String) -> Self {
        Self {
            patch: job.patch.clone(),
            candidates: job.candidates.clone(),
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
    /// One per distinct raw patch, in the vote order of their first candidates.
    pub patch_results: Vec<PatchResult>,
    /// Every candidate in vote order, as selection saw it.
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
    /// The 0-based number of the distinct patch candidate `id` shares (its `logs/patch-N.log` is `N = number + 1`)
    /// and its results; `None` for a candidate that was not validated.
    pub fn result_of(&self, id: CandidateId) -> Option<(usize, &PatchResult)> {
        self.patch_results.iter().enumerate().find(|(_, result)| result.candidates.contains(&id))
    }

    pub fn chosen_patch(&self) -> Option<&Patch> {
        self.selection.chosen.and_then(|id| self.result_of(id)).map(|(_, result)| &result.patch)
    }

    /// Up to `count` distinct patches, best first: the first candidate of each vote, most votes first, then the
    /// other validated candidates in vote order.
    pub fn best_candidates(&self, count: usize) -> Vec<&Patch> {
        let voted = self.selection.votes.iter().filter_map(|vote| self.result_of(vote.first));
        let validated = self.patch_results.iter().enumerate();
        let mut best: Vec<&Patch> = Vec::new();
        for patch in voted.chain(validated).map(|(_, result)| &result.patch) {
            if best.len() == count {
                break;
            }
            if !best.contains(&patch) {
                best.push(patch);
            }
        }
        best
    }
}

/// One distinct raw patch to run, and the candidates that share it.
struct PatchJob {
    slot: usize,
    patch: Patch,
    candidates: Vec<CandidateId>,
}

/// Validate `candidates` using the sandboxes in `pool` (one job per sandbox at a time).
pub async fn validate(
    model: &dyn LanguageModel,
    pool: &[Box<dyn Sandbox>],
    issue: &str,
    candidates: &[CandidatePatch],
    options: &ValidateOptions,
) -> Result<ValidationReport, ValidateError> {
    if candidates.is_empty() {
        // Nothing to test: no test is planned, so no model is asked to choose or write one.
        let skipped = "validation skipped: no candidate has a patch, so no test was planned or run and no model \
                       call was made";
        tracing::warn!(stage = "validate", "{skipped}");
        return Ok(ValidationReport {
            test_command: options.test_command.clone(),
            regression: None,
            reproduction: None,
            patch_results: Vec::new(),
            evaluated: Vec::new(),
            selection: selection::select(&[]),
            stopped: None,
            isolation: pool.first().map(|sandbox| sandbox.isolation()),
            degradations: vec![skipped.to_owned()],
        });
    }
    let Some(first) = pool.first() else {
        return Err(ValidateError::NoSandbox);
    };
    let mut stopped = None;
    let mut degradations = Vec::new();
    // A spent budget stops the planning cleanly (validation goes on without that part); a sandbox fault is retried
    // once on a recovered worker and then degrades that part; other errors fail.
    let (in_vote_order, jobs) = distinct_patches(candidates);

    // No test is planned (and no model asked) when no patch applies: a test could tell nothing apart.
    let plans_wanted = options.regression || options.reproduction_tests > 0;
    let planning = !plans_wanted
        || match any_patch_applies(first.as_ref(), &jobs).await {
            Ok(applies) => applies,
            Err(error) => {
                tracing::warn!(stage = "validate", "could not check whether a patch applies: {error}");
                true
            }
        };
    if !planning {
        degradations.push(format!(
            "tests not planned: none of the {} distinct patches applies to the original, so no model call was made",
            jobs.len()
        ));
    }
    let regression_plan = if options.regression && planning {
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
        settle_plan(planned, "regression tests", &mut stopped, &mut degradations)?
    } else {
        None
    };
    let reproduction_plan = if options.reproduction_tests > 0 && planning && stopped.is_none() {
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
        settle_plan(planned, "reproduction tests", &mut stopped, &mut degradations)?
    } else {
        None
    };
    if let Some(plan) = &regression_plan {
        degradations.extend(regression_degradation(plan));
        degradations.extend(truncation_degradation(plan));
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

    let workers = Workers::new(pool.len());
    let reproduction_code = reproduction_plan.as_ref().and_then(ReproductionPlan::chosen_code);
    let total = jobs.len();
    let mut patch_results: Vec<Option<PatchResult>> = vec![None; total];
    let regression_plan_ref = regression_plan.as_ref();
    let workers_ref = &workers;
    // Owned jobs: a stream of borrowed items trips the compiler's `Send` check for callers behind `async_trait`.
    let mut runs = futures::stream::iter(jobs)
        .map(move |job| async move {
            let slot = job.slot;
            let Some(worker) = workers_ref.take().await else {
                let cause = "no working sandbox is left (every worker failed and could not be replaced)";
                return (slot, Ok(PatchResult::failed(&job, cause.to_owned())));
            };
            tracing::info!(stage = "validate", "patch {}/{total}", slot + 1);
            let sandbox = pool[worker].as_ref();
            let result = match with_recovery(sandbox, || {
                run_patch(sandbox, &job, regression_plan_ref, reproduction_code, options)
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
                    Ok(PatchResult::failed(&job, error.to_string()))
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
    let evaluated = evaluate(&in_vote_order, &patch_results);
    let selection = selection::select(&evaluated);
    Ok(ValidationReport {
        test_command: options.test_command.clone(),
        regression: regression_plan,
        reproduction: reproduction_plan,
        patch_results,
        evaluated,
        selection,
        stopped,
        isolation: Some(first.isolation()),
        degradations,
    })
}

/// The report of candidates no test could be run for (`cause`: the sandbox could not be set up, the instance's
/// environment failed to build): no model call, every distinct patch carries `cause`, and selection falls back to
/// the original's majority vote over the normalized candidates. Infrastructure never loses a prediction.
pub fn unvalidated(candidates: &[CandidatePatch], test_command: TestCommand, cause: &str) -> ValidationReport {
    let (in_vote_order, jobs) = distinct_patches(candidates);
    let patch_results: Vec<PatchResult> = jobs.iter().map(|job| PatchResult::failed(job, cause.to_owned())).collect();
    let evaluated = evaluate(&in_vote_order, &patch_results);
    let degradation = format!(
        "validation could not run ({cause}): no test was run and no model asked; the patch is chosen by a majority \
         vote over the normalized candidates, as the original does without test results"
    );
    nothing_ran_here(test_command, None, patch_results, evaluated, degradation)
}

/// A report of a validation that ran nothing itself: selection over `evaluated`, with the one `degradation` that
/// says why.
fn nothing_ran_here(
    test_command: TestCommand,
    regression: Option<RegressionPlan>,
    patch_results: Vec<PatchResult>,
    evaluated: Vec<Evaluated>,
    degradation: String,
) -> ValidationReport {
    ValidationReport {
        test_command,
        regression,
        reproduction: None,
        patch_results,
        selection: selection::select(&evaluated),
        evaluated,
        stopped: None,
        isolation: None,
        degradations: vec![degradation],
    }
}

/// What a run elsewhere (the original Agentless's `output_{i}_regression_test_results.jsonl` and
/// `output_{i}_reproduction_test_results.jsonl`) recorded for one candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedResult {
    /// The kept regression tests that failed; `None` when nothing was recorded (counted as the worst).
    pub regression_failing: Option<Vec<String>>,
    /// Whether the reproduction test said `Issue resolved`; `None` when nothing was recorded.
    pub reproduction_passed: Option<bool>,
}

/// The report of candidates whose test results were recorded elsewhere (`source` names where): nothing runs and
/// no model is asked; selection runs over the recorded results, each candidate by its own record. A distinct
/// patch's result shows its first candidate's record; `applied` is taken as true (the record does not say), and a
/// reproduction recorded as failed shows no verdict (the record does not say which).
pub fn recorded(
    candidates: &[CandidatePatch],
    results: &BTreeMap<CandidateId, RecordedResult>,
    test_command: TestCommand,
    regression: Option<RegressionPlan>,
    source: &str,
) -> ValidationReport {
    let (in_vote_order, jobs) = distinct_patches(candidates);
    let patch_results: Vec<PatchResult> = jobs
        .iter()
        .map(|job| {
            let record = job.candidates.first().and_then(|id| results.get(id)).cloned().unwrap_or_default();
            PatchResult {
                patch: job.patch.clone(),
                candidates: job.candidates.clone(),
                applied: true,
                apply_log: format!("not applied here: the results were recorded by {source}"),
                regression: record.regression_failing.map(|failing| RegressionResult {
                    failing,
                    exit_code: None,
                    timed_out: false,
                }),
                reproduction: record.reproduction_passed.filter(|passed| *passed).map(|_| Verdict::Resolved),
                test_log: String::new(),
                error: None,
                recovered_faults: Vec::new(),
            }
        })
        .collect();
    let evaluated: Vec<Evaluated> = in_vote_order
        .iter()
        .map(|candidate| {
            let record = results.get(&candidate.id);
            Evaluated {
                id: candidate.id,
                normalized_patch: candidate.normalized_patch.clone(),
                regression_failures: record.and_then(|record| record.regression_failing.as_ref()).map(Vec::len),
                reproduction_passed: record.and_then(|record| record.reproduction_passed),
            }
        })
        .collect();
    let degradation =
        format!("no test was run here: the regression and reproduction results are the ones recorded by {source}");
    nothing_ran_here(test_command, regression, patch_results, evaluated, degradation)
}

/// The candidates in vote order, and one job per distinct raw patch, numbered in the vote order of their first
/// candidates.
fn distinct_patches(candidates: &[CandidatePatch]) -> (Vec<&CandidatePatch>, Vec<PatchJob>) {
    let mut in_vote_order: Vec<&CandidatePatch> = candidates.iter().collect();
    in_vote_order.sort_by_key(|candidate| candidate.id);
    let mut jobs: Vec<PatchJob> = Vec::new();
    for candidate in &in_vote_order {
        match jobs.iter_mut().find(|job| job.patch == candidate.model_patch) {
            Some(job) => job.candidates.push(candidate.id),
            None => jobs.push(PatchJob {
                slot: jobs.len(),
                patch: candidate.model_patch.clone(),
                candidates: vec![candidate.id],
            }),
        }
    }
    (in_vote_order, jobs)
}

/// Every candidate as selection sees it, joined to its patch's results by candidate id.
fn evaluate(in_vote_order: &[&CandidatePatch], patch_results: &[PatchResult]) -> Vec<Evaluated> {
    let result_of: BTreeMap<CandidateId, &PatchResult> =
        patch_results.iter().flat_map(|result| result.candidates.iter().map(move |id| (*id, result))).collect();
    in_vote_order
        .iter()
        .map(|candidate| {
            let result = result_of.get(&candidate.id);
            Evaluated {
                id: candidate.id,
                normalized_patch: candidate.normalized_patch.clone(),
                regression_failures: result.and_then(|result| result.regression.as_ref()).map(|r| r.failing.len()),
                reproduction_passed: result
                    .and_then(|result| result.reproduction)
                    .map(|verdict| verdict == Verdict::Resolved),
            }
        })
        .collect()
}

/// Whether any of `jobs`' patches applies to the original, tried in order until one does (usually the first);
/// the sandbox is left pristine.
async fn any_patch_applies(sandbox: &dyn Sandbox, jobs: &[PatchJob]) -> Result<bool, SandboxError> {
    let mut applies = false;
    for job in jobs {
        sandbox.reset().await?;
        if sandbox.apply_patch(job.patch.as_str()).await?.applied() {
            applies = true;
            break;
        }
    }
    sandbox.reset().await?;
    Ok(applies)
}

/// A planning run's outcome: the plan; nothing when the budget ran out (`stopped` says so) or the sandbox failed
/// twice (a degradation of `part`); any other error fails validation.
fn settle_plan<T>(
    planned: Result<T, ValidateError>,
    part: &str,
    stopped: &mut Option<String>,
    degradations: &mut Vec<String>,
) -> Result<Option<T>, ValidateError> {
    match planned {
        Ok(plan) => Ok(Some(plan)),
        Err(ValidateError::Model(error)) => {
            *stopped = Some(error.into_stop_reason()?);
            Ok(None)
        }
        Err(ValidateError::Sandbox(error)) => {
            degradations.push(format!("{part} unavailable: the sandbox failed twice: {error}"));
            Ok(None)
        }
        Err(error @ (ValidateError::Prompt(_) | ValidateError::NoSandbox)) => Err(error),
    }
}

/// Run `attempt`; on a sandbox fault, recover the sandbox (a fresh worker in the pristine state) and run it once
/// more, noting the first fault. A second fault, or a failed recovery, is returned as the error.
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
    job: &PatchJob,
    regression_plan: Option<&RegressionPlan>,
    reproduction_code: Option<&str>,
    options: &ValidateOptions,
) -> Result<PatchResult, ValidateError> {
    let patch = job.patch.as_str();
    sandbox.reset().await?;
    let outcome = sandbox.apply_patch(patch).await?;
    let mut result = PatchResult {
        patch: job.patch.clone(),
        candidates: job.candidates.clone(),
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
        if plan.kept.is_empty() {
            // No test is left to compare (the degradations say why): every candidate that applies counts zero
            // regressions, as it would after a run, without spending the suite's time on each.
            result.regression = Some(RegressionResult::nothing_kept());
            result.test_log = "regression tests not run: no test from the original's run is kept".to_owned();
        } else {
            let (output, results) =
                regression::run_tests(sandbox, command, options.test_timeout, options.output_cap).await?;
            result.regression = Some(regression::compare(plan, &results, &output));
            result.test_log = format!("{}\n{}", output.stdout, output.stderr);
        }
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
    use std::sync::Arc;
    use std::sync::Mutex as StdMutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use agentless_model::{ChatRequest, Completion, ModelError, Usage};
    use async_trait::async_trait;

    use super::*;
    use crate::ValidationStrength;
    use crate::baseline::{BaselineHealth, BaselineProblem};
    use crate::selection::SelectionRule;
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

    /// Candidate `L{location_sample}.S{sample}` whose raw and normalized patch are `patch`.
    fn candidate(location_sample: usize, sample: usize, patch: &str) -> CandidatePatch {
        let patch = Patch::new(patch.to_owned()).unwrap();
        CandidatePatch {
            id: CandidateId::new(location_sample, sample),
            model_patch: patch.clone(),
            normalized_patch: Some(patch),
        }
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
        let candidates = [candidate(0, 0, "a ONCE"), candidate(0, 1, "b FAULT"), candidate(0, 2, "c")];
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
        assert_eq!(report.chosen_patch().map(Patch::as_str), Some("a ONCE"));
        assert_eq!(report.isolation.as_ref().map(|isolation| isolation.mechanism.as_str()), Some("fake"));
    }

    #[tokio::test]
    async fn a_worker_that_cannot_be_recovered_is_retired_and_later_candidates_get_an_error() {
        let pool: Vec<Box<dyn Sandbox>> = vec![Box::new(Faulty::new(0))];
        let candidates = [candidate(0, 0, "a FAULT"), candidate(0, 1, "b"), candidate(0, 2, "c")];
        let report = validate(&Unasked, &pool, "issue", &candidates, &options()).await.unwrap();
        assert!(report.patch_results[0].error.as_deref().is_some_and(|error| error.contains("recovery failed")));
        for result in &report.patch_results[1..] {
            assert!(
                result.error.as_deref().is_some_and(|error| error.contains("no working sandbox is left")),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn candidates_in_any_order_get_their_own_results_joined_by_id() {
        // No test runs here (regression off, no reproduction tests): only which patches apply matters.
        let pool: Vec<Box<dyn Sandbox>> = vec![Box::new(Tests { exit_code: 0, stdout: "" })];
        // Vote order: L0.S0 (x), L1.S0 (REJECT y), L0.S1 (x again), L1.S1 (z); given shuffled.
        let candidates =
            [candidate(1, 1, "z"), candidate(0, 1, "x"), candidate(1, 0, "REJECT y"), candidate(0, 0, "x")];
        let report = validate(&Unasked, &pool, "issue", &candidates, &options()).await.unwrap();
        let numbered: Vec<(String, &str, bool)> = report
            .patch_results
            .iter()
            .map(|result| {
                let ids: Vec<String> = result.candidates.iter().map(CandidateId::to_string).collect();
                (ids.join(" "), result.patch.as_str(), result.applied)
            })
            .collect();
        assert_eq!(
            numbered,
            [
                ("L0.S0 L0.S1".to_owned(), "x", true),
                ("L1.S0".to_owned(), "REJECT y", false),
                ("L1.S1".to_owned(), "z", true)
            ]
        );
        for candidate in &candidates {
            let (_, result) = report.result_of(candidate.id).unwrap();
            assert_eq!(result.patch, candidate.model_patch, "{}", candidate.id);
        }
        assert_eq!(report.result_of(CandidateId::new(1, 0)).map(|(number, _)| number), Some(1));
        assert_eq!(report.result_of(CandidateId::new(2, 0)).map(|(number, _)| number), None);
        let evaluated: Vec<String> = report.evaluated.iter().map(|evaluated| evaluated.id.to_string()).collect();
        assert_eq!(evaluated, ["L0.S0", "L1.S0", "L0.S1", "L1.S1"]);
        // Without test results it is a vote over every candidate: x has two.
        assert_eq!(report.selection.chosen, Some(CandidateId::new(0, 0)));
        assert_eq!(report.chosen_patch().map(Patch::as_str), Some("x"));
        let best: Vec<&str> = report.best_candidates(2).into_iter().map(Patch::as_str).collect();
        assert_eq!(best, ["x", "REJECT y"]);
    }

    /// A sandbox where a patch applies unless it holds `REJECT`, and the test command prints `stdout` and exits with `exit_code`.
    struct Tests {
        exit_code: i32,
        stdout: &'static str,
    }

    #[async_trait]
    impl Sandbox for Tests {
        fn workdir(&self) -> &str {
            "/repo"
        }

        fn isolation(&self) -> Isolation {
            Faulty::new(0).isolation()
        }

        async fn exec(&self, _request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
            Ok(ExecOutput {
                exit_code: self.exit_code,
                stdout: self.stdout.to_owned(),
                stderr: String::new(),
                timed_out: false,
                truncated: false,
                duration: Duration::ZERO,
            })
        }

        async fn write_file(&self, _relative_path: &str, _contents: &[u8]) -> Result<(), SandboxError> {
            Ok(())
        }

        async fn reset(&self) -> Result<(), SandboxError> {
            Ok(())
        }

        async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError> {
            let method = (!patch.contains("REJECT")).then_some(PatchMethod::GitApply);
            Ok(PatchOutcome { method, attempts: Vec::new() })
        }

        async fn recover(&self) -> Result<(), SandboxError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn tests_that_fail_to_collect_on_the_original_are_reported_not_passed_off_as_no_regressions() {
        let uncollectable = Tests {
            exit_code: 2,
            stdout: "==================================== ERRORS ====================================\n\
                     ______________________ ERROR collecting tests/test_calc.py ______________________\n\
                     ImportError while importing test module '/repo/tests/test_calc.py'.\n\
                     E   ModuleNotFoundError: No module named 'yaml'\n\
                     !!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n",
        };
        let pool: Vec<Box<dyn Sandbox>> = vec![Box::new(uncollectable)];
        let options = ValidateOptions { test_command: TestCommand::from_user("pytest"), regression: true, ..options() };
        let report = validate(&Unasked, &pool, "issue", &[candidate(0, 0, "x")], &options).await.unwrap();
        let strength = report.strength();
        assert_eq!(
            strength,
            ValidationStrength {
                regression_tests_run: 0,
                reproduction_tests_kept: 0,
                baseline: Some(BaselineHealth {
                    exit_code: 2,
                    tests_passed: 0,
                    tests_failed: 0,
                    problem: Some(BaselineProblem::CollectionErrors {
                        first: Some("tests/test_calc.py: ModuleNotFoundError: No module named 'yaml'".to_owned())
                    }),
                }),
            }
        );
        assert_eq!(
            report.degradations,
            ["regression tests unavailable: the original's tests failed to collect: tests/test_calc.py: \
                 ModuleNotFoundError: No module named 'yaml' (exit 2)"]
        );
        assert_eq!(report.selection.rule, SelectionRule::RegressionOnly);
        assert_eq!(
            report.selection_reason("logs/baseline.log"),
            "regression tests unavailable: the original's tests failed to collect: tests/test_calc.py: \
             ModuleNotFoundError: No module named 'yaml' (exit 2; logs/baseline.log); majority vote among the patches \
             that apply (no candidate passed a reproduction test)"
        );
        let plan = report.regression.as_ref().unwrap();
        assert!(plan.baseline_output.contains("No module named 'yaml'"), "{}", plan.baseline_output);
        let json = serde_json::to_value(&strength).unwrap();
        assert_eq!(json["baseline"]["problem"]["kind"], "collection_errors");
    }

    /// [`Tests`] that counts the commands it runs.
    struct Counted {
        tests: Tests,
        runs: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Sandbox for Counted {
        fn workdir(&self) -> &str {
            self.tests.workdir()
        }

        fn isolation(&self) -> Isolation {
            self.tests.isolation()
        }

        async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            self.tests.exec(request).await
        }

        async fn write_file(&self, relative_path: &str, contents: &[u8]) -> Result<(), SandboxError> {
            self.tests.write_file(relative_path, contents).await
        }

        async fn reset(&self) -> Result<(), SandboxError> {
            self.tests.reset().await
        }

        async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError> {
            self.tests.apply_patch(patch).await
        }

        async fn recover(&self) -> Result<(), SandboxError> {
            self.tests.recover().await
        }
    }

    #[tokio::test]
    async fn without_a_kept_test_the_suite_runs_on_the_original_only_and_patches_that_apply_still_count_zero() {
        let runs = Arc::new(AtomicUsize::new(0));
        let interrupted =
            Tests { exit_code: 2, stdout: "!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!\n" };
        let pool: Vec<Box<dyn Sandbox>> = vec![Box::new(Counted { tests: interrupted, runs: runs.clone() })];
        let options = ValidateOptions { test_command: TestCommand::from_user("pytest"), regression: true, ..options() };
        let candidates = [candidate(0, 0, "x"), candidate(0, 1, "y"), candidate(0, 2, "REJECT z")];
        let report = validate(&Unasked, &pool, "issue", &candidates, &options).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "only the original's run");
        let applied: Vec<_> = report.patch_results.iter().filter(|result| result.applied).collect();
        assert_eq!(applied.len(), 2);
        for result in applied {
            assert_eq!(result.regression, Some(RegressionResult::nothing_kept()));
        }
        // The patch that does not apply stays out of the vote, as after a run.
        assert_eq!(report.selection.rule, SelectionRule::RegressionOnly);
        assert_eq!(report.selection.eligible.len(), 2);
    }

    #[test]
    fn recorded_results_are_selected_over_candidate_by_candidate_with_nothing_run() {
        // Candidates 0 and 1 share a raw patch but not their records; 2 has a patch of its own.
        let candidates = [candidate(0, 0, "x"), candidate(0, 1, "x"), candidate(0, 2, "y")];
        let record = |failing: &[&str], passed: Option<bool>| RecordedResult {
            regression_failing: Some(failing.iter().map(|test| (*test).to_owned()).collect()),
            reproduction_passed: passed,
        };
        let results = BTreeMap::from([
            (CandidateId::new(0, 0), record(&["t1"], Some(true))),
            (CandidateId::new(0, 1), record(&[], Some(false))),
            (CandidateId::new(0, 2), record(&[], Some(true))),
        ]);
        let report = recorded(&candidates, &results, TestCommand::from_user("true"), None, "the original's run");
        let failures: Vec<Option<usize>> = report.evaluated.iter().map(|e| e.regression_failures).collect();
        assert_eq!(failures, [Some(1), Some(0), Some(0)]);
        assert_eq!(report.selection.rule, SelectionRule::RegressionAndReproduction);
        assert_eq!(report.selection.chosen, Some(CandidateId::new(0, 2)));
        // The distinct patch shows its first candidate's record, and says where it came from.
        assert_eq!(report.patch_results.len(), 2);
        let shared = &report.patch_results[0];
        assert_eq!(shared.regression.as_ref().map(|r| r.failing.clone()), Some(vec!["t1".to_owned()]));
        assert_eq!(shared.reproduction, Some(Verdict::Resolved));
        assert!(shared.apply_log.contains("recorded by the original's run"), "{}", shared.apply_log);
        assert_eq!(
            report.degradations,
            [
                "no test was run here: the regression and reproduction results are the ones recorded by the original's run"
            ]
        );
    }

    #[tokio::test]
    async fn a_healthy_baseline_keeps_the_plain_reason() {
        let pool: Vec<Box<dyn Sandbox>> =
            vec![Box::new(Tests { exit_code: 0, stdout: "PASSED tests/test_calc.py::test_add\n" })];
        let options = ValidateOptions { test_command: TestCommand::from_user("pytest"), regression: true, ..options() };
        let report = validate(&Answers, &pool, "issue", &[candidate(0, 0, "x")], &options).await.unwrap();
        assert_eq!(report.strength().regression_tests_run, 1);
        assert_eq!(report.strength().baseline.and_then(|health| health.problem), None);
        assert!(report.degradations.is_empty(), "{:?}", report.degradations);
        assert_eq!(
            report.selection_reason("logs/baseline.log"),
            "fewest regressions (no candidate passed a reproduction test)"
        );
    }

    /// A model that answers every request with an empty list.
    struct Answers;

    #[async_trait]
    impl LanguageModel for Answers {
        fn name(&self) -> &str {
            "answers"
        }

        async fn complete(&self, _request: &ChatRequest) -> Result<Completion, ModelError> {
            Ok(Completion { samples: vec![String::new()], usage: Usage::default(), cost_usd: 0.0, from_cache: false })
        }
    }

    #[tokio::test]
    async fn without_a_candidate_validation_asks_the_model_nothing_and_says_why() {
        // Tests that pass on the original would otherwise send a regression-selection request (and reproduction
        // generation is on): `Unasked` panics on any call.
        let pool: Vec<Box<dyn Sandbox>> =
            vec![Box::new(Tests { exit_code: 0, stdout: "PASSED tests/test_calc.py::test_add\n" })];
        let options = ValidateOptions {
            test_command: TestCommand::from_user("pytest"),
            regression: true,
            reproduction_tests: 4,
            ..options()
        };
        let report = validate(&Unasked, &pool, "issue", &[], &options).await.unwrap();
        assert!(report.regression.is_none() && report.reproduction.is_none());
        assert_eq!(report.selection.rule, SelectionRule::NoCandidate);
        assert_eq!(report.degradations.len(), 1);
        assert!(report.degradations[0].contains("no candidate has a patch"), "{:?}", report.degradations);
        assert!(report.degradations[0].contains("no model call"), "{:?}", report.degradations);
    }

    #[test]
    fn without_a_sandbox_the_majority_of_normalized_candidates_is_chosen_and_the_cause_kept() {
        // Two raw patches normalize alike (votes 2), a third stands alone; the earliest is L0.S1, not the winner.
        let mut spaced = candidate(0, 2, "diff b  \n");
        spaced.normalized_patch = Patch::new("diff b\n".to_owned());
        let candidates =
            [candidate(0, 1, "diff a\n"), spaced, candidate(0, 4, "diff b\n"), candidate(0, 3, "diff a\n")];
        let report = unvalidated(&candidates, TestCommand::from_user("pytest"), "the environment image failed");
        // a: L0.S1 + L0.S3 (2 votes); b: L0.S2 + L0.S4 (2 votes) -> tie to the earliest sample, L0.S1.
        assert_eq!(report.selection.rule, SelectionRule::VoteOnly);
        assert_eq!(report.selection.chosen, Some(CandidateId::new(0, 1)));
        assert_eq!(report.chosen_patch().map(Patch::as_str), Some("diff a\n"));
        assert_eq!(report.patch_results.len(), 3, "one result per distinct raw patch");
        assert!(
            report.patch_results.iter().all(|result| result.error.as_deref() == Some("the environment image failed"))
        );
        assert!(report.degradations[0].contains("the environment image failed"), "{:?}", report.degradations);
        let mut lone = candidates.to_vec();
        lone.push(candidate(0, 5, "diff b\n"));
        let report = unvalidated(&lone, TestCommand::from_user("pytest"), "cause");
        // 3 votes beat 2; the first candidate of the winning vote gives its raw patch.
        assert_eq!(report.chosen_patch().map(Patch::as_str), Some("diff b  \n"));
    }

    #[tokio::test]
    async fn when_no_patch_applies_no_test_is_planned_and_no_model_asked() {
        let pool: Vec<Box<dyn Sandbox>> =
            vec![Box::new(Tests { exit_code: 0, stdout: "PASSED tests/test_calc.py::test_add\n" })];
        let options = ValidateOptions {
            test_command: TestCommand::from_user("pytest"),
            regression: true,
            reproduction_tests: 4,
            ..options()
        };
        let candidates = [candidate(0, 0, "REJECT x"), candidate(0, 1, "REJECT y")];
        let report = validate(&Unasked, &pool, "issue", &candidates, &options).await.unwrap();
        assert!(report.regression.is_none() && report.reproduction.is_none());
        assert_eq!(
            report.degradations,
            ["tests not planned: none of the 2 distinct patches applies to the original, so no model call was made"]
        );
        assert!(report.patch_results.iter().all(|result| !result.applied));
    }
}
