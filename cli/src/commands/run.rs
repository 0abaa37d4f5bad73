//! `agentless run`: the pipeline on one issue; the chosen diff on stdout, every artifact and a readable report in
//! the run directory. `--resume` redoes nothing finished.

use std::io::Write;
use std::path::PathBuf;

use agentless_pipeline::{CancellationToken, Event, RunDir, RunInput, SandboxSource, reap_dead_sandboxes, report};
use agentless_syntax::{RepoSnapshot, SourceKind};
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{GlobalArgs, RunArgs, SandboxKind};
use crate::commands::localize::read_issue;
use crate::config::{FileConfig, default_cache_dir};
use crate::model::usage_line;
use crate::preset::LOCAL;
use crate::settings::PipelineSettings;

pub async fn run(
    args: RunArgs,
    global: &GlobalArgs,
    progress: &ProgressBar,
    cancel: &CancellationToken,
) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&args.repo.repo))?;
    let issue = read_issue(&args.issue, &snapshot)?;
    let settings = PipelineSettings::resolve(&args.pipeline, &config, &LOCAL, SandboxKind::Local)?;
    let model = settings.model.build()?;
    // Sandbox copies and containers of runs that were killed (kill -9) go first.
    reap_dead_sandboxes(settings.pipeline.sandbox.kind).await;
    let run_dir = RunDir::new(args.out.clone().unwrap_or_else(|| new_run_dir(snapshot.name())), args.resume);
    if !args.resume && run_dir.is_finished() {
        bail!("`{}` holds a finished run; pass --resume to reuse it or choose another --out", run_dir.root().display());
    }
    let input =
        RunInput { snapshot: &snapshot, issue: &issue, run_dir: &run_dir, sandbox_source: SandboxSource::FromSnapshot };
    let outcome = agentless_pipeline::run(&settings.pipeline, &model, &input, &show_event(progress), cancel).await?;
    progress.finish_and_clear();
    eprintln!("{}", report::one_line(&outcome.report));
    eprintln!("model: {}", usage_line(&model.ledger.total()));
    eprintln!("report: {}", run_dir.path(RunDir::REPORT_MD).display());

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

/// A pipeline's events on stderr: a stage goes to the log layer as an INFO event with a `stage` field (the spinner's
/// message on a terminal, one line per stage in a job log; see `logging`), the sandboxes' isolation is printed.
pub fn show_event(progress: &ProgressBar) -> impl Fn(Event<'_>) + Sync + '_ {
    move |event| match event {
        Event::Stage(stage) => match stage.split_once(": ") {
            Some((stage, message)) => tracing::info!(stage, "{message}"),
            None => tracing::info!(stage, "started"),
        },
        Event::Isolation(isolation) => progress.suspend(|| eprintln!("{isolation}")),
    }
}

/// A new folder under the cache directory's `runs/`, named after the repository and the time.
pub fn new_run_dir(repository: &str) -> PathBuf {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    default_cache_dir().join("runs").join(format!("{repository}-{}", seconds.as_secs()))
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
