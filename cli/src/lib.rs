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
    /// Stopped by this signal (SIGINT, SIGTERM or SIGHUP) after removing its sandboxes: 128 + the signal.
    Interrupted(i32),
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
            ExitStatus::Interrupted(signal) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX)),
        }
    }
}

/// Run one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let progress = logging::init(&cli.global);
    let command = async {
        match cli.command {
            Command::Index(args) => commands::index::run(args).await,
            Command::Skeleton(args) => commands::skeleton::run(args).await,
            Command::Localize(args) => commands::localize::run(args, &cli.global, &progress).await,
            Command::Repair(args) => commands::repair::run(args, &cli.global, &progress).await,
            Command::Run(args) => commands::run::run(*args, &cli.global, &progress).await,
            Command::Sandbox(args) => commands::sandbox::run(args).await,
            Command::Action(args) => commands::action::run(*args, &cli.global, &progress).await,
            Command::Swebench(args) => commands::swebench::run(args, &cli.global, &progress).await,
        }
    };
    // SIGTERM (`timeout`, CI cancellation, systemd) and SIGHUP are handled as Ctrl-C: the command is dropped, which
    // kills its test processes and removes its sandboxes (containers included) before the exit.
    let mut command = Box::pin(command);
    let interrupted = tokio::select! {
        status = &mut command => Err(status),
        signal = shutdown_signal() => Ok(signal),
    };
    drop(command);
    progress.finish_and_clear();
    match interrupted {
        Err(status) => status,
        Ok(signal) => {
            eprintln!("interrupted by {}; the run's test processes and sandboxes are gone", signal_name(signal));
            Ok(ExitStatus::Interrupted(signal))
        }
    }
}

/// The first of SIGINT, SIGTERM and SIGHUP to arrive; never, when they cannot be watched.
async fn shutdown_signal() -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    let watched = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
    let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = watched else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => 2,
        _ = terminate.recv() => 15,
        _ = hangup.recv() => 1,
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
