//! `agentless action`: the GitHub Action bot. Reads the event, and when it is a trigger runs the pipeline on the
//! checked-out repository and opens (or updates) a draft pull request with the fix.

use agentless_github::{ActionEnv, ActionOutcome, AgentlessPipeline, GitHub, run_action};
use agentless_pipeline::CancellationToken;
use std::io::Write as _;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{ActionArgs, GlobalArgs, SandboxKind};
use crate::commands::run::{new_run_dir, show_event};
use crate::config::FileConfig;
use crate::preset::LOCAL;
use crate::settings::PipelineSettings;

pub async fn run(
    args: ActionArgs,
    global: &GlobalArgs,
    progress: &ProgressBar,
    cancel: &CancellationToken,
) -> Result<ExitStatus> {
    let env = ActionEnv::from_env().context("`agentless action` runs inside a GitHub Actions job")?;
    let github = GitHub::for_action(&env)?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&env.workspace))?;
    let settings = PipelineSettings::resolve(&args.pipeline, &config, &LOCAL, SandboxKind::Local)?;
    let run_dir = match &args.out {
        Some(out) => out.clone(),
        None => {
            let name = env.workspace.file_name().map_or_else(|| "repo".into(), |name| name.to_string_lossy());
            // The checked-out workspace is the git work tree being repaired.
            new_run_dir(&name, env.workspace.join(".git").exists().then_some(env.workspace.as_path()))?
        }
    };
    let show = show_event(progress);
    let pipeline = AgentlessPipeline {
        options: settings.pipeline,
        model: settings.model,
        run_dir,
        cancel: cancel.clone(),
        on_event: &show,
    };
    let outcome = run_action(&env, &pipeline, &github).await?;
    writeln!(std::io::stdout(), "{outcome}")?;
    Ok(match outcome {
        ActionOutcome::Skipped { .. } | ActionOutcome::PullRequest { .. } => ExitStatus::Success,
        ActionOutcome::NoPatch { .. } => ExitStatus::Failure,
    })
}
