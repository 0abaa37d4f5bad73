//! `agentless run`: localize → repair → validate in sandboxes → the chosen diff on stdout, with every artifact and
//! a readable report in the run directory. `--resume` redoes nothing finished.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agentless_candidate::Patch;
use agentless_localize::{Issue, Locations, localize};
use agentless_repair::{Candidate, repair};
use agentless_sandbox::docker::{DockerRuntime, ProjectImage, ProjectImageOptions, PythonVersion, WorkerLimits};
use agentless_sandbox::environment::TestEnvironment;
use agentless_sandbox::local::{Containment, LocalOptions, LocalSandbox};
use agentless_sandbox::{ProjectFiles, Sandbox, Setup};
use agentless_syntax::{RepoSnapshot, SourceKind};
use agentless_validate::test_command::TestCommand;
use agentless_validate::{CandidatePatch, ValidateOptions, ValidationReport, validate};
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use serde::Deserialize;

use crate::ExitStatus;
use crate::args::{GlobalArgs, LocalContainment, PipelineArgs, RunArgs, SandboxKind};
use crate::commands::localize::{localize_options, read_issue, write_json};
use crate::commands::repair::{read_jsonl, repair_options, write_jsonl};
use crate::config::{FileConfig, default_cache_dir};
use crate::model::{self, ModelSetup, usage_line};
use crate::preset::LOCAL;
use crate::report::{self, Report, StageTime};

pub async fn run(args: RunArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    // Sandbox copies and containers of runs that were killed (kill -9) go first.
    agentless_sandbox::local::reap_dead_sandboxes();
    if args.pipeline.sandbox == SandboxKind::Docker
        && let Ok(runtime) = DockerRuntime::connect(DockerRuntime::new_run_id()).await
    {
        let _ = runtime.shutdown().await;
    }
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&args.repo.repo))?;
    let issue = read_issue(&args.issue, &snapshot)?;
    let model = model::build(&args.pipeline.model, &config)?;
    let run_dir = args.out.clone().unwrap_or_else(|| new_run_dir(&snapshot));
    if !args.resume && run_dir.join("report.json").exists() {
        bail!("`{}` holds a finished run; pass --resume to reuse it or choose another --out", run_dir.display());
    }
    let outcome =
        run_pipeline(&args.pipeline, &config, &model, &snapshot, &issue, &run_dir, args.resume, progress, None).await?;
    progress.finish_and_clear();
    eprintln!("{}", report::one_line(&outcome.report));
    eprintln!("model: {}", usage_line(&model.ledger.total()));
    eprintln!("report: {}", run_dir.join("report.md").display());

    let Some(patch) = outcome.chosen else {
        return Ok(ExitStatus::Failure);
    };
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{patch}")?;
    stdout.flush()?;
    if args.apply {
        apply_to_work_tree(&snapshot, patch.as_str()).await?;
        eprintln!("applied to {}", snapshot.root().display());
    }
    Ok(ExitStatus::Success)
}

/// A new folder under the cache directory's `runs/`, named after the repository and the time.
pub fn new_run_dir(snapshot: &RepoSnapshot) -> PathBuf {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    default_cache_dir().join("runs").join(format!("{}-{}", snapshot.name(), seconds.as_secs()))
}

/// What a pipeline run produced.
pub struct PipelineOutcome {
    /// The chosen diff, if any.
    pub chosen: Option<Patch>,
    pub report: Report,
    pub validation: ValidationReport,
}

/// Localize → repair → validate → select, writing every artifact to `run_dir`; with `resume`, stages whose
/// artifact exists are read back instead of redone.
#[expect(clippy::too_many_arguments, reason = "the run's inputs, each from a different source")]
pub async fn run_pipeline(
    args: &PipelineArgs,
    config: &FileConfig,
    model: &ModelSetup,
    snapshot: &RepoSnapshot,
    issue: &Issue,
    run_dir: &Path,
    resume: bool,
    progress: &ProgressBar,
    prepared_image: Option<&ProjectImage>,
) -> Result<PipelineOutcome> {
    let started = Instant::now();
    // Checked before the first model call: a refused variable must not cost anything.
    let test_environment = test_environment(args, config)?;
    fs_err::create_dir_all(run_dir.join("logs"))?;
    tracing::info!("run directory: {}", run_dir.display());
    let mut times = Vec::new();

    // Localize.
    let locations_path = run_dir.join("locations.json");
    let stage_started = Instant::now();
    let locations: Locations = match resumed(resume, &locations_path)? {
        Some(locations) => locations,
        None => {
            progress.set_message("localize");
            let options = localize_options(args.edit_samples, None, None, config, &model.client)?;
            let locations = localize(&model.client, snapshot, issue, &options).await.context("localization failed")?;
            write_json(&locations_path, &locations)?;
            locations
        }
    };
    times.push(StageTime::new("localize", stage_started));

    // Repair.
    let candidates_path = run_dir.join("candidates.jsonl");
    let stage_started = Instant::now();
    let (candidates, repair_stopped) = if resume && candidates_path.is_file() {
        tracing::info!("resumed {}", candidates_path.display());
        (read_jsonl::<Candidate>(&candidates_path)?, None)
    } else {
        progress.set_message("repair");
        let options = repair_options(args.samples, args.temperature, &config.repair);
        let output = repair(&model.client, snapshot, issue, &locations, &options).await.context("repair failed")?;
        write_jsonl(&candidates_path, &output.candidates)?;
        (output.candidates, output.stopped)
    };
    times.push(StageTime::new("repair", stage_started));

    // Validate the candidates that have a patch (only `ok` ones do); results come back by candidate id.
    let patches: Vec<CandidatePatch> = candidates
        .iter()
        .filter_map(|candidate| {
            let model_patch = candidate.model_patch.clone()?;
            Some(CandidatePatch { id: candidate.id, model_patch, normalized_patch: candidate.normalized_patch.clone() })
        })
        .collect();
    let validation_path = run_dir.join("validation.json");
    let stage_started = Instant::now();
    let validation: ValidationReport = match resumed(resume, &validation_path)? {
        Some(validation) => validation,
        None => {
            progress.set_message("validate: preparing the sandbox");
            let validation = validate_in_sandboxes(
                args,
                config,
                &model.client,
                snapshot,
                &issue.text,
                &patches,
                run_dir,
                prepared_image,
                &test_environment,
                progress,
            )
            .await?;
            write_json(&validation_path, &validation)?;
            for (slot, result) in validation.patch_results.iter().enumerate() {
                let log = format!("{}\n\n{}", result.apply_log, result.test_log);
                fs_err::write(run_dir.join("logs").join(format!("patch-{}.log", slot + 1)), log)?;
            }
            validation
        }
    };
    times.push(StageTime::new("validate", stage_started));

    let chosen = validation.chosen_patch().cloned();
    let report = Report::new(
        snapshot,
        issue,
        &locations,
        &candidates,
        &validation,
        repair_stopped.or_else(|| locations.stopped.clone()).or_else(|| validation.stopped.clone()),
        model.ledger.by_stage(),
        model.ledger.total(),
        times,
        started.elapsed(),
    );
    write_json(&run_dir.join("report.json"), &report)?;
    fs_err::write(run_dir.join("report.md"), report::markdown(&report))?;
    if let Some(patch) = &chosen {
        fs_err::write(run_dir.join("final.diff"), patch.as_str())?;
    }
    Ok(PipelineOutcome { chosen, report, validation })
}

/// The artifact at `path` when resuming and it exists.
fn resumed<T: for<'de> Deserialize<'de>>(resume: bool, path: &Path) -> Result<Option<T>> {
    if !resume || !path.is_file() {
        return Ok(None);
    }
    let value = serde_json::from_str(&fs_err::read_to_string(path)?)
        .with_context(|| format!("cannot resume from `{}`", path.display()))?;
    tracing::info!("resumed {}", path.display());
    Ok(Some(value))
}

/// The host variables test processes may see: the locale and `--pass-env` / `pass_env` (secret-looking names are
/// an error).
fn test_environment(args: &PipelineArgs, config: &FileConfig) -> Result<TestEnvironment> {
    let mut names = config.validate.pass_env.clone();
    names.extend(args.pass_env.iter().cloned());
    Ok(TestEnvironment::from_host(&names)?)
}

/// Print once per run what the sandboxes isolate.
fn announce_isolation(progress: &ProgressBar, pool: &[Box<dyn Sandbox>]) {
    if let Some(first) = pool.first() {
        let isolation = first.isolation();
        progress.suspend(|| eprintln!("{isolation}"));
    }
}

#[expect(clippy::too_many_arguments, reason = "the run's inputs and an optional prebuilt image")]
async fn validate_in_sandboxes(
    args: &PipelineArgs,
    config: &FileConfig,
    model: &dyn agentless_model::LanguageModel,
    snapshot: &RepoSnapshot,
    issue: &str,
    patches: &[CandidatePatch],
    run_dir: &Path,
    prepared_image: Option<&ProjectImage>,
    test_environment: &TestEnvironment,
    progress: &ProgressBar,
) -> Result<ValidationReport> {
    let files = tokio::task::block_in_place(|| {
        let pairs: Result<Vec<(String, Vec<u8>)>, _> =
            snapshot.files().iter().map(|path| snapshot.read(path).map(|bytes| (path.clone(), bytes))).collect();
        pairs
    })?;
    let files = ProjectFiles::from_pairs(files)?;
    let validate_config = &config.validate;
    let setup = match args.setup.as_deref().or(validate_config.setup.as_deref()) {
        None | Some("auto") => Setup::Auto,
        Some("none") => Setup::Bare,
        Some(command) => Setup::Command(command.to_owned()),
    };
    let test_command = match args.test_cmd.as_deref().or(validate_config.test_cmd.as_deref()) {
        Some(command) => TestCommand::from_user(command),
        None => TestCommand::detect(snapshot.files()),
    };
    let test_timeout = args.test_timeout.or(validate_config.test_timeout_secs).unwrap_or(LOCAL.test_timeout_secs);
    let options = ValidateOptions {
        test_command,
        regression: !args.no_regression,
        reproduction_tests: args
            .reproduction_tests
            .or(validate_config.reproduction_tests)
            .unwrap_or(LOCAL.reproduction_tests),
        reproduction_temperature: 0.8,
        test_timeout: Duration::from_secs(test_timeout),
        reproduction_timeout: Duration::from_secs(test_timeout.min(600)),
        output_cap: validate_config.output_cap.unwrap_or(256 * 1024),
    };
    let workers = args.workers.or(validate_config.workers).unwrap_or(2).max(1);
    match args.sandbox {
        SandboxKind::Local => {
            let containment = match args.containment {
                LocalContainment::Auto => Containment::Auto,
                LocalContainment::Bubblewrap => Containment::Bubblewrap,
                LocalContainment::None => Containment::Off,
            };
            let local_options = LocalOptions {
                setup,
                containment,
                environment: test_environment.clone(),
                hidden_paths: vec![snapshot.root().to_path_buf()],
                ..LocalOptions::default()
            };
            let mut pool: Vec<Box<dyn Sandbox>> = Vec::with_capacity(workers);
            for index in 0..workers {
                tracing::info!(stage = "validate", "setting up local sandbox {}/{workers}", index + 1);
                let sandbox =
                    LocalSandbox::create(&files, &local_options).await.context("local sandbox setup failed")?;
                if index == 0 {
                    fs_err::write(run_dir.join("logs/setup.log"), sandbox.setup_log())?;
                }
                pool.push(Box::new(sandbox));
            }
            announce_isolation(progress, &pool);
            Ok(validate(model, &pool, issue, patches, &options).await?)
        }
        SandboxKind::Docker => {
            let Some(python) = PythonVersion::parse(&args.python) else {
                bail!("--python must be 3.9, 3.11 or 3.13, not `{}`", args.python);
            };
            let runtime = DockerRuntime::connect(DockerRuntime::new_run_id()).await?;
            let result = async {
                let image_options = ProjectImageOptions {
                    python,
                    setup,
                    system_packages: Vec::new(),
                    pip_cert: agentless_sandbox::docker::host_pip_cert().await,
                };
                let image = match prepared_image {
                    Some(image) => image.clone(),
                    None => {
                        tracing::info!(stage = "validate", "building the project image");
                        runtime.project_image(&files, &image_options).await.context("project image build failed")?
                    }
                };
                fs_err::write(run_dir.join("logs/setup.log"), &image.setup_log)?;
                let sandboxes =
                    runtime.start_workers(&image, workers, &WorkerLimits::default(), test_environment).await?;
                let pool: Vec<Box<dyn Sandbox>> =
                    sandboxes.into_iter().map(|sandbox| Box::new(sandbox) as Box<dyn Sandbox>).collect();
                announce_isolation(progress, &pool);
                anyhow::Ok(validate(model, &pool, issue, patches, &options).await?)
            };
            // Interrupted (SIGINT, SIGTERM, SIGHUP), this future is dropped and the runtime's drop removes the
            // containers.
            let result = result.await;
            let removed = runtime.shutdown().await;
            if let Err(error) = removed {
                tracing::warn!("could not remove the run's containers: {error}");
            }
            result
        }
    }
}

/// `git apply` the chosen patch to the user's work tree, after a `--check`.
async fn apply_to_work_tree(snapshot: &RepoSnapshot, patch: &str) -> Result<()> {
    if snapshot.kind() != SourceKind::WorkTree {
        bail!("--apply needs a git work tree read from disk (no --rev, not a bare repository or a plain folder)");
    }
    for check in [true, false] {
        let mut command = tokio::process::Command::new("git");
        command.arg("apply");
        if check {
            command.arg("--check");
        }
        command.arg("-").current_dir(snapshot.root()).stdin(std::process::Stdio::piped());
        let mut child = command.spawn().context("cannot run git")?;
        if let Some(mut stdin) = child.stdin.take() {
            tokio::io::AsyncWriteExt::write_all(&mut stdin, patch.as_bytes()).await?;
        }
        let output = child.wait_with_output().await?;
        if !output.status.success() {
            bail!(
                "git apply{} failed: {}",
                if check { " --check" } else { "" },
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    Ok(())
}
