//! The `agentless` command line: flags, configuration, logging, progress, and one module per command.

pub mod args;
mod commands;
pub mod config;
pub mod env;
mod logging;
mod model;
mod preset;
mod report;

use std::process::ExitCode;

use args::{Cli, Command};

/// How a command ended: 0 success, 1 ran but found nothing to offer, 2 error (as ruff and ripgrep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Failure,
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Run one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let progress = logging::init(&cli.global);
    let status = match cli.command {
        Command::Index(args) => commands::index::run(args).await,
        Command::Skeleton(args) => commands::skeleton::run(args).await,
        Command::Localize(args) => commands::localize::run(args, &cli.global, &progress).await,
        Command::Repair(args) => commands::repair::run(args, &cli.global, &progress).await,
        Command::Run(args) => commands::run::run(*args, &cli.global, &progress).await,
        Command::Sandbox(args) => commands::sandbox::run(args).await,
        Command::Action(args) => commands::action::run(*args, &cli.global, &progress).await,
        Command::Swebench(args) => commands::swebench::run(args, &cli.global, &progress).await,
    };
    progress.finish_and_clear();
    status
}
