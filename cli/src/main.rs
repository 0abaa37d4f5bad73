//! The `agentless` binary: parse flags, run the command, print `error:` with its cause chain, exit 0/1/2.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use agentless::args::Cli;
use agentless::{ExitStatus, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return report(&anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(status) => status.into(),
        Err(error) => report(&error),
    }
}

/// Print `error:` and each cause; a closed stdout (`agentless ... | head`) is a success, as in ripgrep and ruff.
fn report(error: &anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| io_error_kind(cause) == Some(io::ErrorKind::BrokenPipe)) {
        return ExitStatus::Success.into();
    }
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "error: {error}");
    for cause in error.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    ExitStatus::Error.into()
}

/// The kind of an I/O error, also when serde_json wraps it (its `source` skips the I/O error itself).
fn io_error_kind(cause: &(dyn std::error::Error + 'static)) -> Option<io::ErrorKind> {
    if let Some(io) = cause.downcast_ref::<io::Error>() {
        return Some(io.kind());
    }
    cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind)
}
