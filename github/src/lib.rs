//! The GitHub Action bot: decides from the event whether to run, keeps one comment on the issue up to date, runs
//! the pipeline ([`AgentlessPipeline`], `agentless-pipeline` on the workspace), and turns its patch into a
//! force-pushed `agentless/issue-N` branch and a draft pull request (or explains in the comment why there is none).
//! A trigger comment on that pull request runs it again with the comment's notes added to the issue text.

pub mod api;
pub mod env;
pub mod error;
pub mod event;
pub mod git;
pub mod outputs;
mod pipeline;
pub mod render;

use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use api::{GitHub, RetryPolicy};
pub use env::{ActionEnv, GithubEnvVars, PushRemote, Token};
pub use error::{ActionError, ApiError, GitError, Permission, PipelineError};
pub use pipeline::AgentlessPipeline;

use crate::api::NewPullRequest;
use crate::event::{Decision, EventPayload, RevisionRequest, TriggeredIssue};
use crate::outputs::StepOutputs;
use crate::render::RunInfo;

/// Name of the patch file the bot writes into the run directory (the `patch-path` output).
pub const PATCH_FILE_NAME: &str = "fix.patch";

/// What the bot needs to fix an issue: given the issue text and the checked-out repository, one patch (or none,
/// with the reason and the best candidates), a markdown report, the cost and the run directory. The bot runs
/// [`AgentlessPipeline`]; this seam lets its tests stand in a canned outcome.
#[async_trait::async_trait]
pub trait IssueFixer: Send + Sync {
    async fn fix(&self, issue_text: &str, workspace: &Path) -> Result<PipelineOutcome, PipelineError>;
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelineOutcome {
    /// The chosen patch as a unified diff against the workspace's HEAD.
    pub patch: Option<String>,
    pub report_markdown: String,
    pub cost_usd: f64,
    /// Where the run's files are; the workflow uploads it as an artifact.
    pub run_dir: PathBuf,
    pub why_no_patch: Option<String>,
    /// The best candidate diffs, best first, shown when no patch was chosen.
    pub best_candidates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    /// The event does not start a run.
    Skipped { reason: String },
    /// A draft pull request carries the fix.
    PullRequest {
        issue: u64,
        url: String,
        number: u64,
        branch: String,
        commit: String,
        patch_path: PathBuf,
        comment_url: String,
        cost_usd: f64,
        run_dir: PathBuf,
    },
    /// No patch was chosen; the comment says why.
    NoPatch { issue: u64, comment_url: String, cost_usd: f64, run_dir: PathBuf },
}

impl fmt::Display for ActionOutcome {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionOutcome::Skipped { reason } => write!(formatter, "nothing to do: {reason}"),
            ActionOutcome::PullRequest { issue, url, branch, cost_usd, .. } => {
                write!(formatter, "issue #{issue}: draft pull request {url} from {branch} (cost ${cost_usd:.4})")
            }
            ActionOutcome::NoPatch { issue, comment_url, cost_usd, .. } => {
                write!(formatter, "issue #{issue}: no patch chosen, see {comment_url} (cost ${cost_usd:.4})")
            }
        }
    }
}

/// Runs the bot with the pipeline for the event in `env`. Skips (with `Ok`) events that do not trigger it;
/// otherwise reports on the issue whatever happens, writes the step summary and outputs, and returns the first
/// error after reporting it.
pub async fn run_action(
    env: &ActionEnv,
    pipeline: &AgentlessPipeline<'_>,
    github: &GitHub,
) -> Result<ActionOutcome, ActionError> {
    run_action_with(env, pipeline, github).await
}

/// [`run_action`] with any [`IssueFixer`].
pub async fn run_action_with(
    env: &ActionEnv,
    pipeline: &dyn IssueFixer,
    github: &GitHub,
) -> Result<ActionOutcome, ActionError> {
    let payload = EventPayload::read(&env.event_path)?;
    let decided = match payload.decide(&env.event_name, &env.label, &env.trigger) {
        Decision::Run(mut issue) => {
            if let Some(base) = &env.base_branch {
                issue.base_branch.clone_from(base);
            }
            Ok(issue)
        }
        Decision::Revise(request) => revision_issue(env, github, &request).await?,
        Decision::Skip { reason } => Err(reason),
    };
    let issue = match decided {
        Ok(issue) => issue,
        Err(reason) => {
            tracing::info!("not running: {reason}");
            if let Some(path) = &env.step_summary {
                outputs::append(path, &format!("Agentless did not run: {reason}\n"))
                    .map_err(ActionError::WriteOutputs)?;
            }
            return Ok(ActionOutcome::Skipped { reason });
        }
    };
    tracing::info!("running on issue #{} ({})", issue.number, issue.cause);
    let run_url = env.run_url();
    let run = RunInfo { issue: &issue, run_url: run_url.as_deref() };
    let mut progress = Progress::default();
    let result = report_and_run(env, pipeline, github, &run, &mut progress).await;
    match result {
        Ok(outcome) => {
            let (headline, step_outputs) = match &outcome {
                ActionOutcome::PullRequest { url, number, branch, patch_path, cost_usd, .. } => (
                    format!("Draft pull request [#{number}]({url}) from branch `{branch}`; cost ${cost_usd:.4}."),
                    StepOutputs {
                        patch_path: Some(patch_path.clone()),
                        pr_url: Some(url.clone()),
                        branch: Some(branch.clone()),
                        cost_usd: Some(*cost_usd),
                    },
                ),
                ActionOutcome::NoPatch { comment_url, cost_usd, .. } => (
                    format!("No patch chosen ([comment]({comment_url})); cost ${cost_usd:.4}."),
                    StepOutputs { cost_usd: Some(*cost_usd), ..StepOutputs::default() },
                ),
                ActionOutcome::Skipped { reason } => (reason.clone(), StepOutputs::default()),
            };
            write_step_files(env, &render::step_summary(&run, &headline, progress.report.as_deref()), &step_outputs)?;
            Ok(outcome)
        }
        Err(error) => {
            tracing::error!("issue #{}: {error}", issue.number);
            if let Some(comment_id) = progress.comment_id {
                let body = render::failure_comment(&run, &error, progress.patch.as_deref());
                if let Err(comment_error) = github.update_comment(&env.repository, comment_id, &body).await {
                    tracing::warn!("could not report the failure on the issue: {comment_error}");
                }
            }
            let headline = format!("Failed: {}", env.token.redact(&error.to_string()));
            let step_outputs = StepOutputs { cost_usd: progress.cost_usd, ..StepOutputs::default() };
            if let Err(write_error) =
                write_step_files(env, &render::step_summary(&run, &headline, progress.report.as_deref()), &step_outputs)
            {
                tracing::warn!("{write_error}");
            }
            Err(error)
        }
    }
}

/// The run a trigger comment on a pull request asks for: on the issue of the bot's fix branch the pull request comes
/// from, into the pull request's base; `Err` with the reason to skip when the pull request is not the bot's.
async fn revision_issue(
    env: &ActionEnv,
    github: &GitHub,
    request: &RevisionRequest,
) -> Result<Result<TriggeredIssue, String>, ActionError> {
    let repo = env.repository.as_str();
    let pull = github.pull_request(repo, request.pull_number).await?;
    let same_repository = pull.head.repo.as_ref().is_some_and(|head| head.full_name.eq_ignore_ascii_case(repo));
    let issue_number = git::issue_of_branch(&env.branch_prefix, &pull.head.name).filter(|_| same_repository);
    let Some(issue_number) = issue_number else {
        return Ok(Err(format!(
            "pull request #{} comes from `{}`, not from a fix branch `{}N` of this repository",
            pull.number, pull.head.name, env.branch_prefix
        )));
    };
    let issue = github.issue(repo, issue_number).await?;
    Ok(Ok(TriggeredIssue {
        number: issue.number,
        title: issue.title,
        body: issue.body.unwrap_or_default(),
        base_branch: pull.base.name,
        cause: request.cause.clone(),
        revision_of: Some(pull.number),
    }))
}

/// What a run got as far as before it stopped, for the failure report.
#[derive(Debug, Default)]
struct Progress {
    comment_id: Option<u64>,
    patch: Option<String>,
    report: Option<String>,
    cost_usd: Option<f64>,
}

async fn report_and_run(
    env: &ActionEnv,
    pipeline: &dyn IssueFixer,
    github: &GitHub,
    run: &RunInfo<'_>,
    progress: &mut Progress,
) -> Result<ActionOutcome, ActionError> {
    let repo = env.repository.as_str();
    let issue: &TriggeredIssue = run.issue;
    let comments = github.issue_comments(repo, issue.number).await?;
    let marker = render::marker(issue.number);
    let ours = comments.iter().find(|comment| comment.body.as_deref().is_some_and(|body| body.contains(&marker)));
    let started = render::started_comment(run);
    let comment = match ours {
        Some(comment) => github.update_comment(repo, comment.id, &started).await?,
        None => github.create_comment(repo, issue.number, &started).await?,
    };
    progress.comment_id = Some(comment.id);

    let mut issue_text = render::issue_text(issue, &comments, &env.trigger);
    if let Some(pull_number) = issue.revision_of {
        let notes = github.issue_comments(repo, pull_number).await?;
        issue_text.push_str(&render::revision_notes(pull_number, &notes, &env.trigger));
    }
    let outcome = pipeline.fix(&issue_text, &env.workspace).await.map_err(|source| {
        let mut message = source.to_string();
        let mut cause = source.source();
        while let Some(inner) = cause {
            let _ = write!(message, "\nCaused by: {inner}");
            cause = inner.source();
        }
        ActionError::Pipeline { message: env.token.redact(&message), source }
    })?;
    progress.report = Some(outcome.report_markdown.clone());
    progress.cost_usd = Some(outcome.cost_usd);

    let Some(patch) = outcome.patch.filter(|patch| !patch.trim().is_empty()) else {
        let body =
            render::no_patch_comment(run, outcome.why_no_patch.as_deref(), &outcome.best_candidates, outcome.cost_usd);
        let comment = github.update_comment(repo, comment.id, &body).await?;
        return Ok(ActionOutcome::NoPatch {
            issue: issue.number,
            comment_url: comment.html_url,
            cost_usd: outcome.cost_usd,
            run_dir: outcome.run_dir,
        });
    };
    progress.patch = Some(patch.clone());
    fs_err::create_dir_all(&outcome.run_dir).map_err(ActionError::WritePatch)?;
    let patch_path = outcome.run_dir.join(PATCH_FILE_NAME);
    fs_err::write(&patch_path, &patch).map_err(ActionError::WritePatch)?;

    let branch = git::branch_name(&env.branch_prefix, issue.number);
    let mut message =
        format!("{}\n\nProposed by Agentless for issue #{}.", render::pull_request_title(issue), issue.number);
    if let Some(url) = run.run_url {
        let _ = write!(message, "\n\nRun: {url}");
    }
    let target = git::PushTarget { remote: &env.push_remote, token: &env.token };
    let pushed = git::push_fix(&env.workspace, &patch_path, &branch, &message, target).await?;
    tracing::info!("pushed {} to {branch} (on {})", pushed.commit, pushed.base);

    let title = render::pull_request_title(issue);
    let body = render::pull_request_body(run, &outcome.report_markdown, outcome.cost_usd);
    let pull = match github.open_pull_request(repo, env.owner(), &branch).await? {
        Some(existing) => github.update_pull_request(repo, existing.number, &title, &body).await?,
        None => {
            let new =
                NewPullRequest { title, head: branch.clone(), base: issue.base_branch.clone(), body, draft: true };
            github.create_pull_request(repo, &new).await?
        }
    };
    let fix = render::FixLocation {
        pull_url: &pull.html_url,
        pull_number: pull.number,
        branch: &branch,
        commit: &pushed.commit,
    };
    let body = render::pull_request_comment(run, fix, outcome.cost_usd);
    let comment = github.update_comment(repo, comment.id, &body).await?;
    if issue.revision_of.is_some() {
        github.create_comment(repo, pull.number, &render::revised_comment(run, fix, outcome.cost_usd)).await?;
    }
    Ok(ActionOutcome::PullRequest {
        issue: issue.number,
        url: pull.html_url,
        number: pull.number,
        branch,
        commit: pushed.commit,
        patch_path,
        comment_url: comment.html_url,
        cost_usd: outcome.cost_usd,
        run_dir: outcome.run_dir,
    })
}

fn write_step_files(env: &ActionEnv, summary: &str, step_outputs: &StepOutputs) -> Result<(), ActionError> {
    if let Some(path) = &env.step_summary {
        outputs::append(path, summary).map_err(ActionError::WriteOutputs)?;
    }
    if let Some(path) = &env.output {
        outputs::append(path, &step_outputs.render()).map_err(ActionError::WriteOutputs)?;
    }
    Ok(())
}
