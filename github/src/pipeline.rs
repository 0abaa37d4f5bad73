//! The pipeline behind the bot: `agentless-pipeline` on the checked-out workspace, its outcome turned into what
//! the comment and the pull request show.

use std::path::{Path, PathBuf};

use agentless_localize::Issue;
use agentless_pipeline::{
    CancellationToken, Event, ModelRecipe, PipelineOptions, RunDir, RunInput, SandboxSource, report,
};
use agentless_syntax::RepoSnapshot;

use crate::{IssueFixer, PipelineError, PipelineOutcome};

/// How many candidate diffs the comment shows when no patch was chosen.
const BEST_CANDIDATES: usize = 3;

/// The real pipeline, resolved by the caller: its options, its model, its run directory and its cancellation.
pub struct AgentlessPipeline<'a> {
    pub options: PipelineOptions,
    pub model: ModelRecipe,
    pub run_dir: PathBuf,
    pub cancel: CancellationToken,
    /// Where the run's events go (the binary's progress line).
    pub on_event: &'a (dyn Fn(Event<'_>) + Sync),
}

#[async_trait::async_trait]
impl IssueFixer for AgentlessPipeline<'_> {
    async fn fix(&self, issue_text: &str, workspace: &Path) -> Result<PipelineOutcome, PipelineError> {
        let snapshot = RepoSnapshot::open(workspace, None)?;
        let model = self.model.build()?;
        let issue = Issue { id: snapshot.name().to_owned(), text: issue_text.to_owned() };
        let run_dir = RunDir::new(&self.run_dir, false);
        let input = RunInput {
            snapshot: &snapshot,
            issue: &issue,
            run_dir: &run_dir,
            sandbox_source: SandboxSource::FromSnapshot,
        };
        let outcome = agentless_pipeline::run(&self.options, &model, &input, self.on_event, &self.cancel).await?;
        Ok(bot_outcome(outcome, model.ledger.total().cost_usd, self.run_dir.clone()))
    }
}

/// What the bot shows of a run: the patch, or why there is none and the best candidates.
fn bot_outcome(outcome: agentless_pipeline::PipelineOutcome, cost_usd: f64, run_dir: PathBuf) -> PipelineOutcome {
    let why_no_patch = outcome.chosen.is_none().then(|| report::one_line(&outcome.report));
    PipelineOutcome {
        report_markdown: report::markdown(&outcome.report),
        // The first patch of each distinct normalized patch, most votes first, else the first validated candidates.
        best_candidates: outcome
            .validation
            .best_candidates(BEST_CANDIDATES)
            .into_iter()
            .map(|patch| patch.as_str().to_owned())
            .collect(),
        patch: outcome.chosen.map(String::from),
        cost_usd,
        run_dir,
        why_no_patch,
    }
}
