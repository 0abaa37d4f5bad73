//! SWE-bench inference: the pipeline (`agentless-pipeline`) on each instance into `predictions.jsonl` —
//! resumable (finished instances are skipped, an instance's run folder is resumed), shardable, instances side by
//! side within one budget, each validated in its own environment (Docker: the instance image `eval` builds).

mod predictions_file;
mod shard;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agentless_localize::Issue;
use agentless_model::StageTotals;
use agentless_pipeline::{
    CancellationToken, Event, ModelRecipe, PipelineError, PipelineOptions, PipelineOutcome, RunDir, RunInput,
    SandboxSource,
};
use agentless_sandbox::docker::{DockerRuntime, ProjectImage, WorkerLimits, host_pip_cert};
use agentless_sandbox::{SandboxError, Setup};
use agentless_syntax::RepoSnapshot;
use agentless_validate::selection::SelectionRule;
use agentless_validate::test_command::TestCommand;
use futures::StreamExt as _;

pub use predictions_file::{PREDICTIONS_FILE, PredictionsFile, ShardCount, merge_shards};
pub use shard::{Shard, ShardError};

use crate::eval_script::{modified_files, test_directives_for};
use crate::predictions::Prediction;
use crate::replay::{AgentlessResults, ReplayError};
use crate::runner::{Backend, DockerBackend, InstanceSetup, RepoStore, RunnerError, UpstreamSpecs};
use crate::{Instance, SwebenchError};

/// Where the regression tests come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegressionSource {
    /// The tests of the files the instance's test_patch modifies, run without applying it (as the original).
    TestPatchFiles,
    /// Whatever the pipeline detects in the repository.
    Detect,
}

/// How the instances are run (the pipeline's own options come separately).
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// predictions.jsonl and one run folder per instance.
    pub out: PathBuf,
    /// Instances worked on at once (each also uses the pipeline's sandbox workers).
    pub instance_workers: usize,
    pub regression_tests: RegressionSource,
    /// Validate in the instance's own environment (the SWE-bench spec's); false when the user set one up.
    pub instance_environment: bool,
    /// `model_name_or_path` of the predictions.
    pub model_name: String,
    /// A published Agentless run whose stages, up to the one it names, replace ours.
    pub replay: Option<std::sync::Arc<AgentlessResults>>,
}

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error("cannot write the predictions")]
    Predictions(#[source] SwebenchError),
    #[error("cannot reach the Docker engine")]
    Docker(#[source] SandboxError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("inference was cancelled")]
    Cancelled,
}

/// Why one instance has no prediction (kept in its folder's `error.txt`; the run goes on).
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("{instance_id}: the pipeline failed")]
    Pipeline {
        instance_id: String,
        #[source]
        source: PipelineError,
    },
    #[error("{instance_id}: cannot prepare the instance")]
    Setup {
        instance_id: String,
        #[source]
        source: RunnerError,
    },
    #[error("{instance_id}: cannot replay the original's results")]
    Replay {
        instance_id: String,
        #[source]
        source: ReplayError,
    },
    #[error("{instance_id}: cannot build the instance image")]
    Image {
        instance_id: String,
        #[source]
        source: SandboxError,
    },
}

/// What an inference run has done so far.
#[derive(Debug, Clone, Default)]
pub struct InferTally {
    pub done: usize,
    pub patches: usize,
    /// Instances whose chosen patch passed a reproduction test with the fewest regressions.
    pub validated: usize,
    pub failures: usize,
    pub totals: StageTotals,
}

/// One finished instance, as the caller shows it.
#[derive(Debug)]
pub struct InstanceDone<'a> {
    pub instance_id: &'a str,
    pub result: Result<&'a PipelineOutcome, &'a InstanceError>,
    pub elapsed: Duration,
    /// The run so far, this instance included.
    pub tally: &'a InferTally,
}

/// What a caller sees of a run as it goes.
pub trait InferObserver: Sync {
    /// A pipeline stage (or a step of the instance's setup) started, or the sandboxes' isolation.
    fn event(&self, event: Event<'_>);
    fn instance_done(&self, done: &InstanceDone<'_>);
}

/// How an inference run ended.
#[derive(Debug, Clone)]
pub struct InferSummary {
    pub tally: InferTally,
    /// Instances not started because the budget was spent.
    pub not_started: usize,
}

/// The pipeline on every `pending` instance, each prediction appended to `predictions` as it finishes. The run's
/// budget (`model.max_cost`) is shared: each instance gets what is left when it starts and has its own ledger (so
/// its report counts its own calls); once it is spent, the remaining instances are not started.
pub async fn infer(
    pending: Vec<Instance>,
    repos: &RepoStore,
    pipeline: &PipelineOptions,
    model: &ModelRecipe,
    options: &InferOptions,
    observer: &dyn InferObserver,
    cancel: &CancellationToken,
) -> Result<InferSummary, InferError> {
    let docker = match pipeline.sandbox.kind {
        agentless_pipeline::SandboxKind::Docker { .. } if options.instance_environment && !pending.is_empty() => {
            let mut runtime = DockerRuntime::connect(DockerRuntime::new_run_id()).await.map_err(InferError::Docker)?;
            if let Some(cache) = &pipeline.sandbox.base_image_cache {
                runtime = runtime.building_missing_base_images(cache.clone());
            }
            if let Some(folder) = &pipeline.sandbox.image_use {
                runtime = runtime.recording_image_use(folder.clone());
            }
            Some(Backend::docker(runtime, WorkerLimits::default(), host_pip_cert().await))
        }
        agentless_pipeline::SandboxKind::Docker { .. } | agentless_pipeline::SandboxKind::Local { .. } => None,
    };
    let docker_backend = match &docker {
        Some(Backend::Docker(backend)) => Some(backend.as_ref()),
        Some(Backend::Local) | None => None,
    };
    let total = pending.len();
    let context = Context {
        repos,
        pipeline,
        model,
        options,
        observer,
        cancel,
        docker: docker_backend,
        predictions: PredictionsFile::in_folder(&options.out),
        tally: Mutex::new(InferTally::default()),
        budget_spent: AtomicBool::new(false),
    };
    let runs = async {
        // Instances side by side; a failure to write predictions stops the run.
        let mut runs = futures::stream::iter(pending.into_iter().map(|instance| context.one(instance)))
            .buffer_unordered(options.instance_workers.max(1));
        while let Some(result) = runs.next().await {
            result?;
        }
        Ok(())
    };
    let result = tokio::select! {
        result = runs => result,
        () = cancel.cancelled() => Err(InferError::Cancelled),
    };
    if let Some(backend) = docker_backend
        && let Err(error) = backend.runtime.shutdown().await
    {
        tracing::warn!("could not remove the run's containers: {error}");
    }
    result?;
    let tally = context.tally.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let not_started = if context.budget_spent.load(Ordering::Relaxed) { total - tally.done } else { 0 };
    Ok(InferSummary { tally, not_started })
}

/// What every instance's run shares.
struct Context<'a> {
    repos: &'a RepoStore,
    pipeline: &'a PipelineOptions,
    model: &'a ModelRecipe,
    options: &'a InferOptions,
    observer: &'a dyn InferObserver,
    cancel: &'a CancellationToken,
    docker: Option<&'a DockerBackend>,
    predictions: PredictionsFile,
    tally: Mutex<InferTally>,
    budget_spent: AtomicBool,
}

impl Context<'_> {
    fn tally(&self) -> std::sync::MutexGuard<'_, InferTally> {
        self.tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One instance: its prediction appended, or its error written to its folder.
    async fn one(&self, instance: Instance) -> Result<(), InferError> {
        let started = Instant::now();
        let Some(budget) = self.budget_left() else {
            self.budget_spent.store(true, Ordering::Relaxed);
            return Ok(());
        };
        let model = self
            .model
            .build_with_budget(budget)
            .map_err(|source| InstanceError::Pipeline { instance_id: instance.instance_id.clone(), source });
        let result = match model {
            Ok(model) => {
                let result = self.run_instance(&model, &instance).await;
                self.tally().totals += &model.ledger.total();
                result
            }
            Err(error) => Err(error),
        };
        if let Err(InstanceError::Pipeline { source: PipelineError::Cancelled, .. }) = &result {
            return Err(InferError::Cancelled);
        }
        match &result {
            Ok(outcome) => {
                let prediction = Prediction {
                    instance_id: instance.instance_id.clone(),
                    model_name_or_path: self.options.model_name.clone(),
                    // SWE-bench's format: `""` when there is no patch.
                    model_patch: Some(outcome.chosen.clone().map(String::from).unwrap_or_default()),
                };
                self.predictions.append(&prediction).map_err(InferError::Predictions)?;
                let validated = matches!(
                    outcome.report.rule,
                    SelectionRule::RegressionAndReproduction | SelectionRule::ReproductionOnly
                );
                let mut tally = self.tally();
                tally.validated += usize::from(validated && outcome.chosen.is_some());
                tally.patches += usize::from(outcome.chosen.is_some());
            }
            Err(error) => {
                self.tally().failures += 1;
                let folder = self.options.out.join(&instance.instance_id);
                fs_err::create_dir_all(&folder)?;
                fs_err::write(folder.join("error.txt"), format!("{}\n", error_chain(error)))?;
            }
        }
        let mut tally = self.tally();
        tally.done += 1;
        let done = InstanceDone {
            instance_id: &instance.instance_id,
            result: result.as_ref(),
            elapsed: started.elapsed(),
            tally: &tally,
        };
        self.observer.instance_done(&done);
        Ok(())
    }

    /// The budget of the next instance: `Some(None)` without a limit, `None` once it is spent.
    fn budget_left(&self) -> Option<Option<f64>> {
        match self.model.max_cost {
            None => Some(None),
            Some(limit) => {
                let left = limit - self.tally().totals.cost_usd;
                (left > 0.0).then_some(Some(left))
            }
        }
    }

    /// The pipeline on one instance (its own run folder, resumed when it exists).
    async fn run_instance(
        &self,
        model: &agentless_pipeline::Model,
        instance: &Instance,
    ) -> Result<PipelineOutcome, InstanceError> {
        let instance_id = instance.instance_id.clone();
        let setup_error = |source: RunnerError| InstanceError::Setup { instance_id: instance_id.clone(), source };
        let clone = self.repos.open(&instance.repo, &instance.base_commit).map_err(setup_error)?;
        let snapshot = RepoSnapshot::open(clone.path(), Some(&instance.base_commit))
            .map_err(|source| InstanceError::Pipeline { instance_id: instance_id.clone(), source: source.into() })?;
        let run_dir = RunDir::new(self.options.out.join(&instance.instance_id), true);
        let mut options = self.pipeline.clone();
        if options.validation.test_command.is_none()
            && self.options.regression_tests == RegressionSource::TestPatchFiles
        {
            options.validation.test_command = regression_command(instance);
        }
        if let Some(replay) = &self.options.replay {
            let replay_error = |source| InstanceError::Replay { instance_id: instance_id.clone(), source };
            let replayed = replay.instance(&instance.instance_id).map_err(replay_error)?;
            // Through validate, the command the original's regression results came from.
            let test_command = match &options.validation.test_command {
                Some(command) => TestCommand::from_user(command),
                None => TestCommand::detect(snapshot.files()),
            };
            replay.seed(&run_dir, &replayed, test_command).map_err(replay_error)?;
        }
        // The instance image, or why it could not be built.
        let mut instance_image: Option<Result<ProjectImage, String>> = None;
        if self.options.instance_environment {
            match self.docker {
                // The instance's own image, as `eval` builds it (its environment image shared by the (repo,
                // version)), unless validation already finished in an earlier try.
                Some(docker) if !run_dir.validation_finished() => {
                    self.observer.event(Event::Stage("validate: building the instance image"));
                    let setup = InstanceSetup::read(self.repos, &UpstreamSpecs, instance).map_err(setup_error)?;
                    run_dir
                        .create()
                        .map_err(|source| InstanceError::Pipeline { instance_id: instance_id.clone(), source })?;
                    let log = match docker.instance_image(&setup.recipe()).await {
                        Ok(images) => {
                            let log = format!(
                                "{}environment image {}\n{}instance image {}\n{}",
                                setup.log,
                                images.environment.image,
                                images.environment.setup_log,
                                images.instance.image,
                                images.instance.setup_log
                            );
                            instance_image = Some(Ok(images.instance));
                            log
                        }
                        // The instance still gets a prediction: validation falls back to the original's vote.
                        Err(source) => {
                            let error = InstanceError::Image { instance_id: instance_id.clone(), source };
                            let cause = error_chain(&error);
                            tracing::warn!("{cause}; its prediction is chosen without tests");
                            let log = format!("{}{cause}\n", setup.log);
                            instance_image = Some(Err(cause));
                            log
                        }
                    };
                    fs_err::write(run_dir.log("instance-image.log"), log).map_err(|source| {
                        InstanceError::Pipeline { instance_id: instance_id.clone(), source: source.into() }
                    })?;
                }
                Some(_) => {}
                None => {
                    let script =
                        InstanceSetup::single_step_script(self.repos, &UpstreamSpecs, instance).map_err(setup_error)?;
                    options.sandbox.setup =
                        Setup::Command(format!("bash -c {}", crate::environment::shell_quote(&script)));
                }
            }
        }
        let issue = Issue { id: instance.instance_id.clone(), text: instance.problem_statement.clone() };
        let sandbox_source = match &instance_image {
            Some(Ok(image)) => SandboxSource::Prepared(image),
            Some(Err(cause)) => SandboxSource::Unavailable(cause),
            None => SandboxSource::FromSnapshot,
        };
        let input = RunInput { snapshot: &snapshot, issue: &issue, run_dir: &run_dir, sandbox_source };
        let on_event = |event: Event<'_>| self.observer.event(event);
        agentless_pipeline::run(&options, model, &input, &on_event, self.cancel)
            .await
            .map_err(|source| InstanceError::Pipeline { instance_id, source })
    }
}

/// The regression test command of the original: the instance's test command on the files its test_patch modifies
/// (the ones that exist before it), at the base commit, without the test patch.
pub fn regression_command(instance: &Instance) -> Option<String> {
    let spec = crate::specs::spec(&instance.repo, &instance.version)?;
    let directives = test_directives_for(&instance.repo, modified_files(&instance.test_patch));
    if directives.is_empty() {
        return None;
    }
    Some(format!("{} {}", crate::environment::test_command(&spec), directives.join(" ")))
}

/// An error and its causes on one line (the pipeline's rule, one for every front-end).
pub use agentless_pipeline::error_chain;

#[cfg(test)]
pub(crate) mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    pub(crate) fn instance(id: &str) -> Instance {
        serde_json::from_value(serde_json::json!({
            "instance_id": id, "repo": "psf/requests", "base_commit": "abc", "patch": "", "version": "2.0",
            "test_patch": "diff --git a/test_requests.py b/test_requests.py\n--- a/test_requests.py\n+++ b/test_requests.py\n@@ -1 +1,2 @@\n x\n+y\ndiff --git a/tests/new.py b/tests/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/new.py\n@@ -0,0 +1 @@\n+z\n",
            "FAIL_TO_PASS": [], "PASS_TO_PASS": [], "environment_setup_commit": "abc",
        }))
        .unwrap()
    }

    #[test]
    fn regression_tests_are_the_test_patch_files_that_exist_before_it() {
        assert_eq!(regression_command(&instance("x")).unwrap(), "pytest -rA test_requests.py");
    }

    #[test]
    fn an_error_keeps_its_causes() {
        let error = InstanceError::Pipeline {
            instance_id: "x".to_owned(),
            source: PipelineError::Io(std::io::Error::other("disk full")),
        };
        assert_eq!(error_chain(&error), "x: the pipeline failed: disk full");
    }
}
