//! The `agentless` command line: flags, configuration, logging, progress, and one module per command.

pub mod args;
mod commands;
pub mod config;
pub mod env;
mod examples;
mod logging;
mod model;
mod preset;
mod settings;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use agentless_pipeline::CancellationToken;

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

/// Run one parsed command line. SIGINT, SIGTERM (`timeout`, CI cancellation, systemd) and SIGHUP cancel it: the
/// pipeline commands get the cancellation token and stop, removing their sandboxes (containers included); any
/// other command is dropped, which kills its test processes and removes its sandboxes, before the exit.
pub async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let progress = logging::init(&cli.global);
    let cancel = CancellationToken::new();
    let signal = watch_signals(&cancel);
    let command = async {
        match cli.command {
            Command::Index(args) => commands::index::run(args).await,
            Command::Skeleton(args) => commands::skeleton::run(args).await,
            Command::Localize(args) => commands::localize::run(args, &cli.global, &progress).await,
            Command::Repair(args) => commands::repair::run(args, &cli.global, &progress).await,
            Command::Run(args) => commands::run::run(*args, &cli.global, &progress, &cancel).await,
            Command::Sandbox(args) => commands::sandbox::run(args).await,
            Command::Action(args) => commands::action::run(*args, &cli.global, &progress, &cancel).await,
            Command::Swebench(args) => commands::swebench::run(args, &cli.global, &progress, &cancel).await,
            Command::Completions(args) => commands::docs::completions(&args),
            Command::Man(args) => commands::docs::man(&args),
        }
    };
    let mut command = Box::pin(command);
    // The command first: a pipeline command sees the cancellation and returns before it would be dropped.
    let status = tokio::select! {
        biased;
        status = &mut command => status,
        () = cancel.cancelled() => Ok(ExitStatus::Error),
    };
    drop(command);
    progress.finish_and_clear();
    if cancel.is_cancelled() {
        let signal = signal.load(Ordering::SeqCst);
        eprintln!("interrupted by {}; the run's test processes and sandboxes are gone", signal_name(signal));
        return Ok(ExitStatus::Interrupted(signal));
    }
    status
}

/// Cancel `cancel` on the first of SIGINT, SIGTERM and SIGHUP, and keep its number; never, when they cannot be
/// watched. The handlers are in place when this returns.
fn watch_signals(cancel: &CancellationToken) -> Arc<AtomicI32> {
    use tokio::signal::unix::{SignalKind, signal};
    let received = Arc::new(AtomicI32::new(0));
    let watched = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
    let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = watched else {
        return received;
    };
    let (cancel, signal) = (cancel.clone(), Arc::clone(&received));
    tokio::spawn(async move {
        let number = tokio::select! {
            _ = interrupt.recv() => 2,
            _ = terminate.recv() => 15,
            _ = hangup.recv() => 1,
        };
        signal.store(number, Ordering::SeqCst);
        cancel.cancel();
    });
    received
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
