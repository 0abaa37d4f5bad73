//! Per-candidate overhead of the local sandbox: reset + apply + `python -c pass`, as it was (a checkout reset and a
//! plain process) against the pristine reset under bubblewrap and without containment (virtualenv, home and temp
//! restored), with a virtualenv that holds pytest.
//!
//! ```text
//! cargo run --release -p agentless-sandbox --example local_sandbox_bench -- [ROUNDS]
//! ```
//! Needs python3 with venv and pip reaching PyPI (pytest is installed once per sandbox), and `bwrap` for the
//! bubblewrap row.

use std::time::{Duration, Instant};

use agentless_sandbox::local::{Containment, LocalOptions, LocalSandbox};
use agentless_sandbox::{ExecRequest, Sandbox, SandboxError, Setup};

#[path = "support/bench_support.rs"]
mod bench_support;
use bench_support::{PATCH, calc_project, median_and_p90};

#[derive(Debug, Clone, Copy)]
enum Reset {
    /// What every candidate paid before: `git reset --hard && git clean -ffdx` of the checkout.
    CheckoutOnly,
    /// The pristine reset: checkout, and (without bubblewrap) the virtualenv, home and temp.
    Pristine,
}

async fn round(sandbox: &LocalSandbox, reset: Reset) -> Result<Duration, SandboxError> {
    let started = Instant::now();
    match reset {
        Reset::CheckoutOnly => sandbox.reset_checkout().await?,
        Reset::Pristine => sandbox.reset().await?,
    }
    let outcome = sandbox.apply_patch(PATCH).await?;
    assert!(outcome.applied(), "{}", outcome.log());
    let output = sandbox.exec(&ExecRequest::new(["python", "-c", "pass"], Duration::from_secs(60))).await?;
    assert!(output.success(), "{output:?}");
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> Result<(), SandboxError> {
    let rounds: usize = std::env::args().nth(1).and_then(|text| text.parse().ok()).unwrap_or(30);
    let files = calc_project()?;
    let setup = Setup::Command("python -m pip install --quiet pytest".to_owned());
    println!("per candidate: reset + apply + `python -c pass`, {rounds} rounds, virtualenv with pytest");
    println!("| containment | reset | median | p90 |");
    println!("| --- | --- | --- | --- |");
    for (containment, reset) in [
        (Containment::Off, Reset::CheckoutOnly),
        (Containment::Off, Reset::Pristine),
        (Containment::Bubblewrap, Reset::CheckoutOnly),
        (Containment::Bubblewrap, Reset::Pristine),
    ] {
        let options = LocalOptions { setup: setup.clone(), containment, ..LocalOptions::default() };
        let sandbox = match LocalSandbox::create(&files, &options).await {
            Ok(sandbox) => sandbox,
            Err(error) => {
                println!("| {containment:?} | {reset:?} | not measured: {error} | |");
                continue;
            }
        };
        let mut samples = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            samples.push(round(&sandbox, reset).await?);
        }
        let (median, p90) = median_and_p90(samples);
        println!("| {containment:?} | {reset:?} | {median:.1?} | {p90:.1?} |");
    }
    Ok(())
}
