//! The pipeline as a library: localize → repair → validate → report, every artifact in a run directory, finished
//! stages read back on resume, the sandboxes assembled and removed, and cancellation by the caller's token.

mod error;
mod model;
mod options;
pub mod report;
mod run_dir;
mod run_settings;
mod sandboxes;
mod spend;

use std::collections::BTreeMap;
use std::time::Instant;

use agentless_candidate::Patch;
use agentless_localize::{Issue, Locations, localize};
use agentless_repair::{Candidate, repair};
use agentless_sandbox::Isolation;
use agentless_sandbox::docker::ProjectImage;
use agentless_syntax::RepoSnapshot;
use agentless_validate::{CandidatePatch, ValidationReport};
pub use tokio_util::sync::CancellationToken;

pub use error::PipelineError;
pub use model::{Model, ModelRecipe};
pub use options::{PipelineOptions, SandboxKind, SandboxOptions, ValidationOptions};
pub use report::{Report, StageTime};
pub use run_dir::RunDir;
pub use run_settings::RunSettings;
pub use sandboxes::reap_dead_sandboxes;
pub use spend::Spend;

/// What a run tells its caller as it goes (the caller shows it; the library never prints).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A stage, or a step of one, started.
    Stage(&'a str),
    /// What the sandboxes isolate, once per run.
    Isolation(&'a Isolation),
}

/// One run's inputs besides its options.
pub struct RunInput<'a> {
    pub snapshot: &'a RepoSnapshot,
    pub issue: &'a Issue,
    pub run_dir: &'a RunDir,
    pub sandbox_source: SandboxSource<'a>,
}

/// Where validation's sandboxes come from.
#[derive(Debug, Clone, Copy)]
pub enum SandboxSource<'a> {
    /// Made from the snapshot as the sandbox options say (a local copy, or a project image built here).
    FromSnapshot,
    /// A project image built by the caller (SWE-bench's instance image).
    Prepared(&'a ProjectImage),
    /// The caller could not make one (its environment failed to build; the cause is given): no test runs and the
    /// candidates are chosen by the original's fallback, a majority vote, with the cause recorded.
    Unavailable(&'a str),
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct PipelineOutcome {
    /// The chosen diff, if any.
    pub chosen: Option<Patch>,
    pub report: Report,
    /// Validation's results per candidate id, the vote and the choice.
    pub validation: ValidationReport,
}

/// Localize → repair → validate → select, writing every artifact to the run directory (stages whose artifact
/// exists are read back when it resumes). Cancelling `cancel` stops the run and removes its sandboxes.
pub async fn run(
    options: &PipelineOptions,
    model: &Model,
    input: &RunInput<'_>,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    cancel: &CancellationToken,
) -> Result<PipelineOutcome, PipelineError> {
    tokio::select! {
        outcome = run_stages(options, model, input, on_event) => outcome,
        () = cancel.cancelled() => Err(PipelineError::Cancelled),
    }
}

/// What a run's results depend on, as text compared on resume. A work tree is named by its commit only: edits
/// not committed are not seen.
fn run_inputs(options: &PipelineOptions, model: &Model, input: &RunInput<'_>) -> BTreeMap<&'static str, String> {
    let revision = input.snapshot.commit().unwrap_or("no commit");
    BTreeMap::from([
        ("issue", input.issue.text.clone()),
        ("repository", format!("{} at {revision}", input.snapshot.root().display())),
        ("model", agentless_model::LanguageModel::name(&model.client).to_owned()),
        ("localize settings", format!("{:?}", options.localize)),
        ("repair settings", format!("{:?}", options.repair)),
        ("validation settings", format!("{:?}", options.validation)),
        ("setup", format!("{:?}", options.sandbox.setup)),
    ])
}

async fn run_stages(
    options: &PipelineOptions,
    model: &Model,
    input: &RunInput<'_>,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<PipelineOutcome, PipelineError> {
    let started = Instant::now();
    let RunInput { snapshot, issue, run_dir, sandbox_source } = *input;
    // Checked before the first model call: nothing is spent on a run that cannot do anything.
    if snapshot.python_files().next().is_none() {
        return Err(PipelineError::NoPythonFiles { root: snapshot.root().to_path_buf() });
    }
    let environment = sandboxes::test_environment(&options.sandbox)?;
    run_dir.create()?;
    run_dir.check_inputs(&run_inputs(options, model, input))?;
    tracing::info!("run directory: {}", run_dir.root().display());
    let mut times = Vec::new();
    // What earlier processes spent on this run; this one's is added after every stage.
    let earlier: Spend = run_dir.resumed(RunDir::SPEND)?.unwrap_or_default();
    let record_spend = |times: &[StageTime]| {
        let spend = earlier.plus(&model.ledger, times, started.elapsed().as_secs_f64());
        run_dir.write_json(RunDir::SPEND, &spend).map(|()| spend)
    };

    let stage_started = Instant::now();
    let locations: Locations = match run_dir.resumed(RunDir::LOCATIONS)? {
        Some(locations) => locations,
        None => {
            on_event(Event::Stage("localize"));
            let locations = localize(&model.client, snapshot, issue, &options.localize).await?;
            // A stage the budget stopped is not kept as finished: a resume runs it again.
            if locations.stopped.is_none() {
                run_dir.write_json(RunDir::LOCATIONS, &locations)?;
            }
            locations
        }
    };
    times.push(StageTime::new("localize", stage_started));
    record_spend(&times)?;

    let stage_started = Instant::now();
    let (candidates, repair_stopped): (Vec<Candidate>, _) = match run_dir.resumed_lines(RunDir::CANDIDATES)? {
        Some(candidates) => (candidates, None),
        None => {
            on_event(Event::Stage("repair"));
            let output = repair(&model.client, snapshot, issue, &locations, &options.repair).await?;
            if output.stopped.is_none() && locations.stopped.is_none() {
                run_dir.write_lines(RunDir::CANDIDATES, &output.candidates)?;
            }
            (output.candidates, output.stopped)
        }
    };
    times.push(StageTime::new("repair", stage_started));
    record_spend(&times)?;

    // Validate the candidates that have a patch (only `ok` ones do); results come back by candidate id.
    let patches: Vec<CandidatePatch> = candidates
        .iter()
        .filter_map(|candidate| {
            let model_patch = candidate.model_patch.clone()?;
            Some(CandidatePatch { id: candidate.id, model_patch, normalized_patch: candidate.normalized_patch.clone() })
        })
        .collect();
    let stage_started = Instant::now();
    let validation: ValidationReport = match run_dir.resumed(RunDir::VALIDATION)? {
        Some(validation) => validation,
        None => {
            on_event(Event::Stage("validate: preparing the sandbox"));
            let prepared_image = match sandbox_source {
                SandboxSource::FromSnapshot => Ok(None),
                SandboxSource::Prepared(image) => Ok(Some(image)),
                SandboxSource::Unavailable(cause) => Err(cause.to_owned()),
            };
            let validated = match prepared_image {
                Ok(prepared_image) => {
                    let validation = sandboxes::Validation {
                        model: &model.client,
                        snapshot,
                        issue: &issue.text,
                        options: &options.validation,
                        sandbox: &options.sandbox,
                        environment: &environment,
                        prepared_image,
                        run_dir,
                        on_event,
                    };
                    match sandboxes::validate_in_sandboxes(&validation, &patches).await {
                        Ok(validation) => Ok(validation),
                        Err(error) if error.is_infrastructure() => {
                            tracing::warn!(stage = "validate", "{}", error_chain(&error));
                            Err(one_line_cause(&error))
                        }
                        Err(error) => return Err(error),
                    }
                }
                Err(cause) => Err(cause),
            };
            match validated {
                Ok(validation) => {
                    // Validation of the candidates of a stopped stage is not final either.
                    let earlier_stopped = locations.stopped.is_some() || repair_stopped.is_some();
                    keep_validation(run_dir, &validation, !earlier_stopped)?;
                    validation
                }
                // Not written as the stage's artifact: a resume tries validation again.
                Err(cause) => {
                    let test_command = sandboxes::test_command(&options.validation, snapshot);
                    let validation = agentless_validate::unvalidated(&patches, test_command, &cause);
                    for degradation in &validation.degradations {
                        tracing::warn!(stage = "validate", "{degradation}");
                    }
                    validation
                }
            }
        }
    };
    times.push(StageTime::new("validate", stage_started));
    let spend = record_spend(&times)?;

    let chosen = validation.chosen_patch().cloned();
    let report = Report::new(
        snapshot,
        issue,
        RunSettings::new(options, &model.name),
        &locations,
        &candidates,
        &validation,
        repair_stopped.or_else(|| locations.stopped.clone()).or_else(|| validation.stopped.clone()),
        spend.usage_by_stage.clone(),
        spend.total(),
        spend.times.clone(),
        std::time::Duration::from_secs_f64(spend.seconds),
        run_dir.logs()?,
    );
    run_dir.write_json(RunDir::REPORT_JSON, &report)?;
    fs_err::write(run_dir.path(RunDir::REPORT_MD), report::markdown(&report))?;
    if let Some(patch) = &chosen {
        fs_err::write(run_dir.path(RunDir::FINAL_DIFF), patch.as_str())?;
    }
    Ok(PipelineOutcome { chosen, report, validation })
}

/// Validation's artifact (unless it is not final), the baseline's log (with a warning when the baseline is unhealthy) and each patch's log.
fn keep_validation(
    run_dir: &RunDir,
    validation: &ValidationReport,
    final_candidates: bool,
) -> Result<(), PipelineError> {
    // A validation the budget stopped, or one of candidates a stopped stage left, is not kept as finished: a resume
    // runs it again.
    if final_candidates && validation.stopped.is_none() {
        run_dir.write_json(RunDir::VALIDATION, validation)?;
    }
    if let Some(plan) = &validation.regression {
        let path = run_dir.path(RunDir::BASELINE_LOG);
        fs_err::write(&path, &plan.baseline_output)?;
        if let Some(health) = &plan.health
            && let Some(problem) = &health.problem
        {
            tracing::warn!(
                stage = "validate",
                "{problem} (exit {}, {} passed, {} failed); its output: {}",
                health.exit_code,
                health.tests_passed,
                health.tests_failed,
                path.display()
            );
        }
    }
    for (slot, result) in validation.patch_results.iter().enumerate() {
        let log = format!("{}\n\n{}", result.apply_log, result.test_log);
        fs_err::write(run_dir.log(&format!("patch-{}.log", slot + 1)), log)?;
    }
    Ok(())
}

/// An error and its causes, joined by `: `.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        text.push_str(": ");
        text.push_str(&source.to_string());
        cause = source.source();
    }
    text
}

/// An error and its causes on one line: the first line of each.
fn one_line_cause(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut cause = error.source();
    while let Some(source) = cause {
        parts.push(source.to_string());
        cause = source.source();
    }
    parts.iter().filter_map(|part| part.lines().next()).collect::<Vec<_>>().join(": ")
}
