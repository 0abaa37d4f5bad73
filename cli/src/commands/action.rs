//! `agentless action`: the GitHub Action bot. Reads the event, and when it is a trigger runs the pipeline on the
//! checked-out repository and opens (or updates) a draft pull request with the fix.

use std::path::{Path, PathBuf};

use agentless_candidate::Patch;
use agentless_github::{ActionEnv, ActionOutcome, GitHub, Pipeline, PipelineError, PipelineOutcome, run_action};
use agentless_localize::Issue;
use agentless_syntax::RepoSnapshot;
use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{ActionArgs, GlobalArgs, PipelineArgs};
use crate::commands::run::{new_run_dir, run_pipeline};
use crate::config::FileConfig;
use crate::model;
use crate::report;

pub async fn run(args: ActionArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let env = ActionEnv::from_env().context("`agentless action` runs inside a GitHub Actions job")?;
    let github = GitHub::for_action(&env)?;
    let pipeline =
        ActionPipeline { args: &args.pipeline, out: args.out.clone(), config: global.config.clone(), progress };
    let outcome = run_action(&env, &pipeline, &github).await?;
    println!("{outcome}");
    Ok(match outcome {
        ActionOutcome::Skipped { .. } | ActionOutcome::PullRequest { .. } => ExitStatus::Success,
        ActionOutcome::NoPatch { .. } => ExitStatus::Failure,
    })
}

struct ActionPipeline<'a> {
    args: &'a PipelineArgs,
    out: Option<PathBuf>,
    config: Option<PathBuf>,
    progress: &'a ProgressBar,
}

#[async_trait::async_trait]
impl Pipeline for ActionPipeline<'_> {
    async fn run(&self, issue_text: &str, workspace: &Path) -> Result<PipelineOutcome, PipelineError> {
        let outcome: Result<PipelineOutcome> = async {
            let snapshot = RepoSnapshot::open(workspace, None)?;
            let (config, _) = FileConfig::load(self.config.as_deref(), Some(workspace))?;
            let setup = model::build(&self.args.model, &config)?;
            let issue = Issue { id: snapshot.name().to_owned(), text: issue_text.to_owned() };
            let run_dir = self.out.clone().unwrap_or_else(|| new_run_dir(&snapshot));
            let outcome =
                run_pipeline(self.args, &config, &setup, &snapshot, &issue, &run_dir, false, self.progress, None)
                    .await?;
            let why_no_patch = outcome.chosen.is_none().then(|| report::one_line(&outcome.report));
            // The best candidates: the first patch of each distinct normalized patch, most votes first, else the
            // first validated candidates.
            let best_candidates =
                outcome.validation.best_candidates(3).into_iter().map(|patch| patch.as_str().to_owned()).collect();
            Ok(PipelineOutcome {
                patch: outcome.chosen.map(Patch::into_string),
                report_markdown: report::markdown(&outcome.report),
                cost_usd: setup.ledger.total().cost_usd,
                run_dir,
                why_no_patch,
                best_candidates,
            })
        }
        .await;
        outcome.map_err(|error| format!("{error:#}").into())
    }
}
