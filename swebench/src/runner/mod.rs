//! The evaluation runner: for each prediction, a sandbox with the instance's environment and its repository at
//! `base_commit` (read from a local clone), the model patch applied in [`PatchApplyPlan`] order, `eval.sh` run,
//! the log graded; artifacts in SWE-bench's layout and a run summary. Sandboxes come from `agentless-validate`.

pub mod backend;
pub mod repos;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentless_sandbox::{ExecRequest, ProjectFiles, Sandbox, SandboxError};
use futures::StreamExt;

use crate::SwebenchError;
use crate::dataset::{Dataset, Instance};
use crate::environment::{EnvironmentPlan, RepoFiles};
use crate::eval_script::{APPLY_PATCH_FAIL, APPLY_PATCH_PASS, EvalScriptOptions, PatchApplyPlan, TESTS_TIMEOUT};
use crate::grading::EvalType;
use crate::predictions::{Prediction, Predictions};
use crate::report::{InstanceReport, LOG_INSTANCE, LOG_REPORT, LOG_TEST_OUTPUT, RunSummary, instance_log_dir};
use crate::specs::RepoVersionSpec;
use agentless_sandbox::PythonVersion;

pub use backend::{Backend, DockerBackend, InstanceImages, PreparedSandbox, SandboxHandle, SandboxRecipe};
pub use repos::{RepoClone, RepoStore, clone_folder_name};

/// The patch and the script, kept inside `.git/` of the sandbox's checkout: never tracked, never cleaned.
const SANDBOX_PATCH_FILE: &str = ".git/swebench-model.patch";
const SANDBOX_EVAL_FILE: &str = ".git/swebench-eval.sh";
pub const LOG_PATCH: &str = "patch.diff";
pub const LOG_EVAL_SCRIPT: &str = "eval.sh";
const APPLY_TIMEOUT: Duration = Duration::from_secs(120);
const OUTPUT_CAP: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error(
        "repository {repo} is not cloned at {path}: clone it with `git clone https://github.com/{repo}.git {path}` \
         (or run `agentless swebench clone`)"
    )]
    RepositoryMissing { repo: String, path: PathBuf },
    #[error(
        "commit {commit} of {repo} is not in {path}: fetch it (`git -C {path} fetch https://github.com/{repo}.git \
         {commit}`) or clone the full history again"
    )]
    CommitMissing { repo: String, commit: String, path: PathBuf },
    #[error("{repo}: `{command}` failed: {output}")]
    Git { repo: String, command: String, output: String },
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Swebench(#[from] SwebenchError),
    #[error("writing a report: {0}")]
    Report(#[from] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How an instance's environment is set up and its tests run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceEnvironment {
    pub python: PythonVersion,
    pub spec: RepoVersionSpec,
    /// Bash installing the dependencies (shared by every instance of a (repo, version) with Docker layering).
    pub dependencies_script: String,
    /// Bash run in each instance's checkout after the dependencies: `pre_install` and `install`.
    pub install_script: String,
    /// Debian packages root installs before the setup (Docker only: a local sandbox has the host's).
    pub system_packages: Vec<String>,
    /// Where this departs from upstream.
    pub notes: Vec<String>,
}

/// Where [`InstanceEnvironment`]s come from: upstream's specs ([`UpstreamSpecs`]) or, in tests, a fixture's.
pub trait EnvironmentSource: Send + Sync {
    fn environment(&self, instance: &Instance, files: &dyn RepoFiles) -> Result<InstanceEnvironment, SwebenchError>;
}

/// SWE-bench's per-(repo, version) specs translated for venv + pip ([`EnvironmentPlan`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct UpstreamSpecs;

impl EnvironmentSource for UpstreamSpecs {
    fn environment(&self, instance: &Instance, files: &dyn RepoFiles) -> Result<InstanceEnvironment, SwebenchError> {
        let plan = EnvironmentPlan::for_instance(instance, files)?;
        let script = |lines: &[String]| format!("set -euxo pipefail\n{}\n", lines.join("\n"));
        Ok(InstanceEnvironment {
            python: plan.python,
            dependencies_script: script(&plan.env_script),
            install_script: script(&plan.repo_script),
            system_packages: plan.system_packages,
            spec: plan.spec,
            notes: plan.notes,
        })
    }
}

/// One evaluation run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Artifacts go to `<out>/<run_id>/<model>/<instance_id>/`, the summary to `<out>/<model>.<run_id>.json`.
    pub out: PathBuf,
    pub run_id: String,
    pub workers: usize,
    /// For the eval script (the test run); setup has its own limit.
    pub timeout: Duration,
    /// Also run empty patches (the `empty` predictions: to see FAIL_TO_PASS fail). Upstream skips them.
    pub run_empty_patches: bool,
}

/// What happened to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceOutcome {
    /// Graded: `report.json` written.
    Graded(InstanceReport),
    /// The model patch did not apply (no report, as upstream: an error in the summary).
    PatchApplyFailed,
    /// Skipped: empty patch (counted as such in the summary).
    EmptyPatch,
    /// Could not be run (missing clone or commit, setup failure, …); the message is in `run_instance.log`.
    Error(String),
}

impl InstanceOutcome {
    /// One word or phrase for logs and progress lines.
    pub fn verdict(&self) -> String {
        match self {
            InstanceOutcome::Graded(report) if report.resolved => "resolved".to_owned(),
            InstanceOutcome::Graded(_) => "unresolved".to_owned(),
            InstanceOutcome::PatchApplyFailed => "patch did not apply".to_owned(),
            InstanceOutcome::EmptyPatch => "empty patch".to_owned(),
            InstanceOutcome::Error(message) => {
                // The whole message (a setup log, say) is in run_instance.log; its first and last lines say enough.
                let lines: Vec<&str> = message.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
                let clip = |line: &str| line.chars().take(120).collect::<String>();
                match lines.as_slice() {
                    [] => "error".to_owned(),
                    [only] => format!("error: {}", clip(only)),
                    [first, rest @ ..] => {
                        // The last line that says "error" is usually the cause; pip's notices come after it.
                        let cause = rest
                            .iter()
                            .rev()
                            .find(|line| line.to_ascii_lowercase().contains("error"))
                            .or(rest.last())
                            .copied()
                            .unwrap_or_default();
                        format!("error: {} … {} (see run_instance.log)", clip(first), clip(cause))
                    }
                }
            }
        }
    }
}

/// Told about each instance as it finishes (in completion order): its id, outcome and time.
pub type OnInstanceDone<'a> = &'a (dyn Fn(&str, &InstanceOutcome, Duration) + Sync);

/// The run's result: per instance, and the summary (also written to disk).
#[derive(Debug)]
pub struct EvalRun {
    pub outcomes: Vec<(String, InstanceOutcome, Duration)>,
    pub summary: RunSummary,
    pub summary_path: PathBuf,
    pub table: String,
}

/// Evaluate `predictions` on the instances of `dataset` they name (all of `instances` when given), writing every
/// artifact; `on_done` hears of each instance as it finishes.
#[expect(clippy::too_many_arguments, reason = "what to run, where, and who to tell")]
pub async fn evaluate(
    dataset: &Dataset,
    instances: &[Instance],
    predictions: &Predictions,
    repos: &RepoStore,
    backend: Arc<Backend>,
    environments: Arc<dyn EnvironmentSource>,
    options: &EvalOptions,
    on_done: OnInstanceDone<'_>,
) -> Result<EvalRun, RunnerError> {
    fs_err::create_dir_all(&options.out)?;
    let jobs: Vec<(Instance, Prediction)> = instances
        .iter()
        .filter_map(|instance| Some((instance.clone(), predictions.get(&instance.instance_id)?.clone())))
        .collect();
    let total = jobs.len();
    let mut done = 0usize;
    let mut outcomes = Vec::with_capacity(total);
    let mut stream = futures::stream::iter(jobs.into_iter().map(|(instance, prediction)| {
        let backend = Arc::clone(&backend);
        let environments = Arc::clone(&environments);
        let parser = dataset.log_parser(&instance);
        let eval_type = dataset
            .harness_meta
            .get(&instance.instance_id)
            .and_then(|meta| EvalType::parse(&meta.eval_type))
            .unwrap_or(EvalType::PassAndFail);
        async move {
            let started = Instant::now();
            let folder = instance_log_dir(&options.out, &options.run_id, &prediction);
            let outcome = match parser {
                Ok(parser) => {
                    let job = InstanceJob {
                        instance: &instance,
                        prediction: &prediction,
                        folder: &folder,
                        parser,
                        eval_type,
                        repos,
                        backend: &backend,
                        environments: environments.as_ref(),
                        options,
                    };
                    job.run().await
                }
                Err(error) => InstanceOutcome::Error(crate::infer::error_chain(&error)),
            };
            (instance.instance_id.clone(), outcome, started.elapsed())
        }
    }))
    .buffer_unordered(options.workers.max(1));
    while let Some((id, outcome, elapsed)) = stream.next().await {
        done += 1;
        tracing::info!("[{done}/{total}] {id}: {} ({:.0} s)", outcome.verdict(), elapsed.as_secs_f64());
        on_done(&id, &outcome, elapsed);
        outcomes.push((id, outcome, elapsed));
    }
    drop(stream);
    let model = predictions.iter().next().map(|prediction| prediction.model_name_or_path.clone()).unwrap_or_default();
    let summary = RunSummary::from_log_dir(&options.out, &options.run_id, instances, predictions);
    let summary_path = options.out.join(RunSummary::file_name(&model, &options.run_id));
    fs_err::write(&summary_path, summary.to_json()?)?;
    let table = summary.table_by_repo(instances);
    fs_err::write(options.out.join(format!("{}.{}.txt", model.replace('/', "__"), options.run_id)), &table)?;
    Ok(EvalRun { outcomes, summary, summary_path, table })
}

/// One instance's inputs.
struct InstanceJob<'a> {
    instance: &'a Instance,
    prediction: &'a Prediction,
    folder: &'a Path,
    parser: agentless_testlog::LogParser,
    eval_type: EvalType,
    repos: &'a RepoStore,
    backend: &'a Backend,
    environments: &'a dyn EnvironmentSource,
    options: &'a EvalOptions,
}

impl InstanceJob<'_> {
    async fn run(&self) -> InstanceOutcome {
        let mut log = String::new();
        let outcome = self.run_logged(&mut log).await;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                // With its causes: "committing the image" alone does not say the engine timed out.
                let message = crate::infer::error_chain(&error);
                log.push_str(&format!("error: {message}\n"));
                InstanceOutcome::Error(message)
            }
        };
        if let Err(error) =
            fs_err::create_dir_all(self.folder).and_then(|()| fs_err::write(self.folder.join(LOG_INSTANCE), &log))
        {
            tracing::warn!(%error, instance = %self.instance.instance_id, "could not write the instance log");
        }
        outcome
    }

    async fn run_logged(&self, log: &mut String) -> Result<InstanceOutcome, RunnerError> {
        let Self { instance, parser, eval_type, repos, backend, environments, options, .. } = *self;
        let patch = self.prediction.model_patch.clone().unwrap_or_default();
        fs_err::create_dir_all(self.folder)?;
        // Stale results of an earlier run must not be counted.
        for stale in [LOG_REPORT, LOG_TEST_OUTPUT] {
            let path = self.folder.join(stale);
            if path.exists() {
                fs_err::remove_file(path)?;
            }
        }
        fs_err::write(self.folder.join(LOG_PATCH), &patch)?;
        if self.prediction.is_empty_patch() && !options.run_empty_patches {
            log.push_str("empty patch: not run\n");
            return Ok(InstanceOutcome::EmptyPatch);
        }
        let setup = InstanceSetup::read(repos, environments, instance)?;
        log.push_str(&setup.log);
        let environment = &setup.environment;
        let prepared = backend.prepare(&setup.recipe()).await?;
        if let Some(note) = &prepared.python_note {
            log.push_str(&format!("note: {note}\n"));
        }
        for (image, reused) in &prepared.images {
            log.push_str(&format!("image {image}{}\n", if *reused { " (reused)" } else { "" }));
        }
        log.push_str(&prepared.setup_log);
        let result =
            self.evaluate_in(prepared.sandbox.as_sandbox(), environment, &patch, parser, eval_type, options, log).await;
        prepared.sandbox.dispose().await;
        result
    }

    #[expect(clippy::too_many_arguments, reason = "one instance's inputs and its log")]
    async fn evaluate_in(
        &self,
        sandbox: &dyn Sandbox,
        environment: &InstanceEnvironment,
        patch: &str,
        parser: agentless_testlog::LogParser,
        eval_type: EvalType,
        options: &EvalOptions,
        log: &mut String,
    ) -> Result<InstanceOutcome, RunnerError> {
        if !patch.is_empty() {
            sandbox.write_file(SANDBOX_PATCH_FILE, patch.as_bytes()).await?;
            if !apply_model_patch(sandbox, &PatchApplyPlan::swebench(SANDBOX_PATCH_FILE), log).await? {
                log.push_str(&format!("{APPLY_PATCH_FAIL}\n"));
                return Ok(InstanceOutcome::PatchApplyFailed);
            }
            log.push_str(&format!("{APPLY_PATCH_PASS}\n"));
        }
        // The sandbox's history is one baseline commit holding the base commit's files after setup.
        let instance = Instance { base_commit: "HEAD".to_owned(), ..self.instance.clone() };
        let script_options = EvalScriptOptions {
            repo_dir: sandbox.workdir().to_owned(),
            activate: ": 'the virtualenv is first on PATH'".to_owned(),
            record_exit_code: true,
            head_is_snapshot: true,
        };
        let script = crate::eval_script::eval_script(&instance, &environment.spec, &script_options);
        fs_err::write(self.folder.join(LOG_EVAL_SCRIPT), &script)?;
        sandbox.write_file(SANDBOX_EVAL_FILE, script.as_bytes()).await?;
        let request = ExecRequest {
            output_cap: OUTPUT_CAP,
            ..ExecRequest::new(["bash", "-c", &format!("bash {SANDBOX_EVAL_FILE} 2>&1")], options.timeout)
        };
        let output = sandbox.exec(&request).await?;
        let mut test_output = output.stdout;
        test_output.push_str(&output.stderr);
        if output.timed_out {
            test_output.push_str(&format!("\n{TESTS_TIMEOUT} after {} s\n", options.timeout.as_secs()));
        }
        if crate::loopback::applies(&self.instance.repo) && crate::loopback::startup_failed(&test_output) {
            log.push_str(&format!("note: {}\n", crate::loopback::STARTUP_FAILED_NOTE));
        }
        fs_err::write(self.folder.join(LOG_TEST_OUTPUT), &test_output)?;
        let report = InstanceReport::grade(self.instance, self.prediction, &test_output, parser, eval_type);
        fs_err::write(self.folder.join(LOG_REPORT), report.to_json(&self.instance.instance_id)?)?;
        Ok(InstanceOutcome::Graded(report))
    }
}

/// What a sandbox for one instance is made of, read from its clone: the environment, the checkout at the base
/// commit, the checkout the environment is built from, and a log of what was chosen.
#[derive(Debug)]
pub struct InstanceSetup {
    pub environment: InstanceEnvironment,
    pub files: ProjectFiles,
    pub environment_files: ProjectFiles,
    environment_prelude: String,
    instance_prelude: String,
    environment_key: String,
    /// The instance's repository and SWE-bench version, labelled on its images.
    repository: String,
    version: String,
    /// Notes and the scripts, for `run_instance.log`.
    pub log: String,
}

impl InstanceSetup {
    pub fn read(
        repos: &RepoStore,
        environments: &dyn EnvironmentSource,
        instance: &Instance,
    ) -> Result<Self, RunnerError> {
        let mut log = String::new();
        let clone = repos.open(&instance.repo, &instance.base_commit)?;
        let environment = environments.environment(instance, &clone)?;
        for note in &environment.notes {
            log.push_str(&format!("note: {note}\n"));
        }
        let files = clone.snapshot(&instance.base_commit)?;
        // The environment is built from the repository at environment_setup_commit (the base commit when the
        // clone lacks it, as for some Django versions in the forks).
        // A clone may also hold the commit but not all of its files (a mirror that leaves out its largest blobs).
        let (environment_commit, environment_files) = if !clone.has_commit(&instance.environment_setup_commit) {
            log.push_str("note: environment_setup_commit is not in the clone; the environment uses the base commit\n");
            (instance.base_commit.as_str(), files.clone())
        } else {
            match clone.snapshot(&instance.environment_setup_commit) {
                Ok(environment_files) => (instance.environment_setup_commit.as_str(), environment_files),
                Err(error @ RunnerError::Git { .. }) => {
                    log.push_str(&format!(
                        "note: environment_setup_commit cannot be checked out of the clone ({error}); the environment \
                         uses the base commit\n"
                    ));
                    (instance.base_commit.as_str(), files.clone())
                }
                Err(error) => return Err(error),
            }
        };
        log.push_str(&format!(
            "checkout of {} at {} ({} files); environment at {environment_commit}:\n{}install:\n{}",
            instance.repo,
            instance.base_commit,
            files.files().len(),
            environment.dependencies_script,
            environment.install_script,
        ));
        let environment_prelude = clone.scm_version_prelude(environment_commit);
        let instance_prelude = clone.scm_version_prelude(&instance.base_commit);
        let environment_key = format!("{}@{}@{environment_commit}", instance.repo, instance.version);
        Ok(Self {
            environment,
            files,
            environment_files,
            environment_prelude,
            instance_prelude,
            environment_key,
            repository: instance.repo.clone(),
            version: instance.version.clone(),
            log,
        })
    }

    /// The whole setup of the base commit as one script, with no checkout read: for a caller that makes the
    /// sandbox from the base commit's files itself (`infer --sandbox local`).
    pub fn single_step_script(
        repos: &RepoStore,
        environments: &dyn EnvironmentSource,
        instance: &Instance,
    ) -> Result<String, RunnerError> {
        let clone = repos.open(&instance.repo, &instance.base_commit)?;
        let environment = environments.environment(instance, &clone)?;
        Ok(backend::single_step_setup(
            &clone.scm_version_prelude(&instance.base_commit),
            &environment.dependencies_script,
            &environment.install_script,
        ))
    }

    pub fn recipe(&self) -> SandboxRecipe<'_> {
        SandboxRecipe {
            python: self.environment.python,
            files: &self.files,
            environment_files: &self.environment_files,
            dependencies_script: &self.environment.dependencies_script,
            install_script: &self.environment.install_script,
            system_packages: &self.environment.system_packages,
            environment_prelude: &self.environment_prelude,
            instance_prelude: &self.instance_prelude,
            environment_key: &self.environment_key,
            repository: &self.repository,
            version: &self.version,
        }
    }
}

/// Try each attempt of `plan` until one exits 0 (then the already-applied check, if the plan has one).
async fn apply_model_patch(
    sandbox: &dyn Sandbox,
    plan: &PatchApplyPlan,
    log: &mut String,
) -> Result<bool, RunnerError> {
    let run = |argv: Vec<String>| async move {
        let request = ExecRequest { output_cap: 1 << 20, ..ExecRequest::new(argv, APPLY_TIMEOUT) };
        sandbox.exec(&request).await
    };
    for (index, attempt) in plan.attempts.iter().enumerate() {
        if index > 0
            && let Some(reset) = &plan.reset_between_attempts
        {
            run(reset.clone()).await?;
        }
        let output = run(attempt.clone()).await?;
        log.push_str(&format!(
            "$ {}\n(exit code {})\n{}{}\n",
            attempt.join(" "),
            output.exit_code,
            output.stdout,
            output.stderr
        ));
        if output.success() {
            return Ok(true);
        }
    }
    if let Some(check) = &plan.already_applied_check {
        let output = run(check.clone()).await?;
        log.push_str(&format!("$ {}\n(exit code {})\n", check.join(" "), output.exit_code));
        return Ok(output.success());
    }
    Ok(false)
}
