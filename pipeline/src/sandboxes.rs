//! Assembling the sandboxes validation runs in (local copies or Docker workers) and removing them afterwards.

use std::path::PathBuf;

use agentless_model::LanguageModel;
use agentless_sandbox::docker::{
    DockerRuntime, ImageKind, ImageLabels, ProjectImage, ProjectImageOptions, WorkerLimits, host_pip_cert,
};
use agentless_sandbox::environment::TestEnvironment;
use agentless_sandbox::local::{LocalOptions, LocalSandbox};
use agentless_sandbox::{ProjectFiles, Sandbox, SandboxError, scm_version};
use agentless_syntax::RepoSnapshot;
use agentless_validate::test_command::TestCommand;
use agentless_validate::{CandidatePatch, ValidateOptions, ValidationReport, validate};

use crate::options::{SandboxKind, SandboxOptions, ValidationOptions};
use crate::run_dir::RunDir;
use crate::{Event, PipelineError};

/// What validation needs besides the candidates.
pub(crate) struct Validation<'a> {
    pub model: &'a dyn LanguageModel,
    pub snapshot: &'a RepoSnapshot,
    pub issue: &'a str,
    pub options: &'a ValidationOptions,
    pub sandbox: &'a SandboxOptions,
    pub environment: &'a TestEnvironment,
    /// A project image built by the caller (SWE-bench's instance image) instead of one built from the snapshot.
    pub prepared_image: Option<&'a ProjectImage>,
    pub run_dir: &'a RunDir,
    pub on_event: &'a (dyn Fn(Event<'_>) + Sync),
}

/// The host variables test processes may see: the locale and the `pass_env` names (secret-looking ones are an
/// error). Checked before the first model call: a refused variable must not cost anything.
pub(crate) fn test_environment(sandbox: &SandboxOptions) -> Result<TestEnvironment, PipelineError> {
    TestEnvironment::from_host(&sandbox.pass_env)
        .map_err(|source| PipelineError::Sandbox { context: "refused a variable for the tests", source })
}

/// The test command given, or detected from the snapshot.
pub(crate) fn test_command(options: &ValidationOptions, snapshot: &RepoSnapshot) -> TestCommand {
    match &options.test_command {
        Some(command) => TestCommand::from_user(command),
        None => TestCommand::detect(snapshot.files()),
    }
}

/// The validate stage's options.
fn validate_options(options: &ValidationOptions, snapshot: &RepoSnapshot) -> ValidateOptions {
    ValidateOptions {
        test_command: test_command(options, snapshot),
        regression: options.regression,
        reproduction_tests: options.reproduction_tests,
        reproduction_temperature: options.reproduction_temperature,
        test_timeout: options.test_timeout,
        reproduction_timeout: options.test_timeout.min(options.reproduction_timeout_cap),
        output_cap: options.output_cap,
    }
}

fn sandbox_error(context: &'static str) -> impl FnOnce(SandboxError) -> PipelineError {
    move |source| PipelineError::Sandbox { context, source }
}

/// As [`sandbox_error`], keeping a failed setup step's whole output in `log` (its error shows only the last lines).
fn setup_error(context: &'static str, log: PathBuf) -> impl FnOnce(SandboxError) -> PipelineError {
    move |source| match &source {
        SandboxError::Setup { command, exit_code, output } => {
            let text = format!("$ {command}\n(exit code {exit_code})\n{output}");
            match fs_err::write(&log, text) {
                Ok(()) => PipelineError::Setup { context, log, source },
                Err(write_error) => {
                    tracing::warn!("cannot keep the setup log at {}: {write_error}", log.display());
                    PipelineError::Sandbox { context, source }
                }
            }
        }
        _ => PipelineError::Sandbox { context, source },
    }
}

/// Validate `patches` in a pool of fresh sandboxes, removed before returning.
pub(crate) async fn validate_in_sandboxes(
    run: &Validation<'_>,
    patches: &[CandidatePatch],
) -> Result<ValidationReport, PipelineError> {
    let snapshot = run.snapshot;
    let files = tokio::task::block_in_place(|| {
        snapshot
            .files()
            .iter()
            .map(|path| snapshot.read(path).map(|bytes| (path.clone(), bytes)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let files = ProjectFiles::from_pairs(files).map_err(sandbox_error("cannot copy the repository into a sandbox"))?;
    let options = validate_options(run.options, snapshot);
    let workers = run.sandbox.workers.max(1);
    // The host knows the version the copy's one untagged commit cannot tell setuptools-scm.
    let scm_version = scm_version::pretend_version(&files, || {
        let commit = snapshot.commit()?;
        tokio::task::block_in_place(|| scm_version::described_version(snapshot.root(), commit))
    });
    match run.sandbox.kind {
        SandboxKind::Local { containment } => {
            let local_options = LocalOptions {
                setup: run.sandbox.setup.clone(),
                containment,
                environment: run.environment.clone(),
                hidden_paths: vec![snapshot.root().to_path_buf()],
                scm_version,
                ..LocalOptions::default()
            };
            let mut pool: Vec<Box<dyn Sandbox>> = Vec::with_capacity(workers);
            for index in 0..workers {
                tracing::info!(stage = "validate", "setting up local sandbox {}/{workers}", index + 1);
                let sandbox = LocalSandbox::create(&files, &local_options)
                    .await
                    .map_err(setup_error("local sandbox setup failed", run.run_dir.path(RunDir::SETUP_LOG)))?;
                if index == 0 {
                    fs_err::write(run.run_dir.path(RunDir::SETUP_LOG), sandbox.setup_log())?;
                }
                pool.push(Box::new(sandbox));
            }
            announce_isolation(run, &pool);
            Ok(validate(run.model, &pool, run.issue, patches, &options).await?)
        }
        SandboxKind::Docker { python } => {
            let mut runtime = DockerRuntime::connect(DockerRuntime::new_run_id())
                .await
                .map_err(sandbox_error("cannot reach the Docker engine"))?;
            if let Some(cache) = &run.sandbox.base_image_cache {
                runtime = runtime.building_missing_base_images(cache.clone());
            }
            if let Some(folder) = &run.sandbox.image_use {
                runtime = runtime.recording_image_use(folder.clone());
            }
            let result = async {
                let image = match run.prepared_image {
                    Some(image) => image.clone(),
                    None => {
                        let (python, chosen_because) = match python {
                            Some(python) => (python, "--python".to_owned()),
                            None => {
                                let choice = agentless_sandbox::choose_python(&files);
                                (choice.version, choice.reason)
                            }
                        };
                        // On stderr at the default level: the Python decides which tests can pass.
                        tracing::warn!(
                            stage = "validate",
                            "building the project image on Python {} ({chosen_because})",
                            python.version()
                        );
                        let image_options = ProjectImageOptions {
                            python,
                            setup: run.sandbox.setup.clone(),
                            system_packages: Vec::new(),
                            pip_cert: host_pip_cert().await,
                            labels: ImageLabels {
                                kind: ImageKind::Project,
                                repository: Some(run.snapshot.name().to_owned()),
                                version: None,
                            },
                            scm_version,
                        };
                        runtime
                            .project_image(&files, &image_options)
                            .await
                            .map_err(setup_error("project image build failed", run.run_dir.path(RunDir::SETUP_LOG)))?
                    }
                };
                fs_err::write(run.run_dir.path(RunDir::SETUP_LOG), &image.setup_log)?;
                let sandboxes = runtime
                    .start_workers(&image, workers, &WorkerLimits::default(), run.environment)
                    .await
                    .map_err(sandbox_error("cannot start the Docker workers"))?;
                let pool: Vec<Box<dyn Sandbox>> =
                    sandboxes.into_iter().map(|sandbox| Box::new(sandbox) as Box<dyn Sandbox>).collect();
                announce_isolation(run, &pool);
                Ok(validate(run.model, &pool, run.issue, patches, &options).await?)
            };
            // Cancelled, this future is dropped and the runtime's drop removes the containers.
            let result = result.await;
            if let Err(error) = runtime.shutdown().await {
                tracing::warn!("could not remove the run's containers: {error}");
            }
            result
        }
    }
}

/// Say once per run what the sandboxes isolate.
fn announce_isolation(run: &Validation<'_>, pool: &[Box<dyn Sandbox>]) {
    if let Some(first) = pool.first() {
        (run.on_event)(Event::Isolation(&first.isolation()));
    }
}

/// Containers and sandbox copies left by runs that were killed (kill -9): removed before a run starts.
pub async fn reap_dead_sandboxes(kind: SandboxKind) {
    agentless_sandbox::local::reap_dead_sandboxes();
    match kind {
        SandboxKind::Docker { .. } => {
            if let Ok(runtime) = DockerRuntime::connect(DockerRuntime::new_run_id()).await {
                let _ = runtime.shutdown().await;
            }
        }
        SandboxKind::Local { .. } => {}
    }
}
