//! `agentless run`: the pipeline on one issue; the chosen diff on stdout, every artifact and a readable report in
//! the run directory. `--resume` redoes nothing finished.

use std::io::Write;
use std::path::{Path, PathBuf};

use agentless_pipeline::{CancellationToken, Event, RunDir, RunInput, SandboxSource, reap_dead_sandboxes, report};
use agentless_syntax::source::AGENTLESS_FOLDER;
use agentless_syntax::{RepoSnapshot, SourceKind};
use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{GlobalArgs, RunArgs, SandboxKind};
use crate::commands::localize::read_issue;
use crate::config::{FileConfig, default_state_dir};
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
    let run_dir = match &args.out {
        Some(out) => out.clone(),
        None => new_run_dir(snapshot.name(), (snapshot.kind() == SourceKind::WorkTree).then(|| snapshot.root()))?,
    };
    let run_dir = RunDir::new(run_dir, args.resume);
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

/// A new run directory named after the repository and the time: under `.agentless/runs/` at the top of
/// `work_tree` (the git work tree being repaired) when the current directory is inside it, else under
/// `$XDG_STATE_HOME/agentless/runs`. In the work tree, `.agentless/` gets a `.gitignore` of `*`, so that git
/// leaves it out as the repository snapshot does.
pub fn new_run_dir(repository: &str, work_tree: Option<&Path>) -> Result<PathBuf> {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let current = std::env::current_dir().and_then(fs_err::canonicalize).ok();
    let work_tree = work_tree.and_then(|root| fs_err::canonicalize(root).ok());
    let runs = runs_folder(current.as_deref(), work_tree.as_deref(), &default_state_dir());
    if let Some(work_tree) = &work_tree
        && runs.starts_with(work_tree)
    {
        ignore_in_git(&work_tree.join(AGENTLESS_FOLDER))?;
    }
    Ok(runs.join(format!("{repository}-{}", seconds.as_secs())))
}

/// Where new runs go: `.agentless/runs/` at the top of `work_tree` when `current` is inside it, else
/// `state_dir/runs` (paths canonical).
fn runs_folder(current: Option<&Path>, work_tree: Option<&Path>, state_dir: &Path) -> PathBuf {
    match (current, work_tree) {
        (Some(current), Some(work_tree)) if current.starts_with(work_tree) => {
            work_tree.join(AGENTLESS_FOLDER).join("runs")
        }
        _ => state_dir.join("runs"),
    }
}

/// Creates `folder` with a `.gitignore` of `*` (kept if there is one), so that git ignores all of it.
fn ignore_in_git(folder: &Path) -> Result<()> {
    fs_err::create_dir_all(folder)?;
    let gitignore = folder.join(".gitignore");
    if !gitignore.exists() {
        fs_err::write(&gitignore, "# agentless's runs: not part of the repository.\n*\n")?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_go_into_the_work_tree_only_when_started_inside_it() {
        let (work_tree, state) = (Path::new("/src/project"), Path::new("/home/me/.local/state/agentless"));
        let inside = runs_folder(Some(Path::new("/src/project/pkg")), Some(work_tree), state);
        assert_eq!(inside, Path::new("/src/project/.agentless/runs"));
        let at_the_top = runs_folder(Some(work_tree), Some(work_tree), state);
        assert_eq!(at_the_top, Path::new("/src/project/.agentless/runs"));
        let elsewhere = runs_folder(Some(Path::new("/src/project-2")), Some(work_tree), state);
        assert_eq!(elsewhere, Path::new("/home/me/.local/state/agentless/runs"));
        let not_a_work_tree = runs_folder(Some(work_tree), None, state);
        assert_eq!(not_a_work_tree, Path::new("/home/me/.local/state/agentless/runs"));
    }

    #[test]
    fn the_agentless_folder_is_ignored_by_git_and_an_existing_gitignore_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(AGENTLESS_FOLDER);
        ignore_in_git(&folder).unwrap();
        let gitignore = fs_err::read_to_string(folder.join(".gitignore")).unwrap();
        assert_eq!(gitignore.lines().filter(|line| !line.starts_with('#')).collect::<Vec<_>>(), ["*"]);
        fs_err::write(folder.join(".gitignore"), "runs/\n").unwrap();
        ignore_in_git(&folder).unwrap();
        assert_eq!(fs_err::read_to_string(folder.join(".gitignore")).unwrap(), "runs/\n");
    }
}
