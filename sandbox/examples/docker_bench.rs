//! Per-candidate overhead of the Docker sandbox: reset + apply + `python -c pass`, for the reset of a worker (a swap
//! to its spare container, back to back and with the spare given time to start as a real test run gives it), for the
//! old warm reset (`git reset --hard && git clean`, kept as `reset_checkout`), and for a cold container created per
//! candidate. Builds the base image first when it is missing (and reports how long it took).
//!
//! ```text
//! cargo run --release -p agentless-sandbox --example docker_bench -- [ROUNDS] [ROOTFS_CACHE_DIR]
//! ```
//! Needs a Docker engine; building the base image also needs root, debootstrap and deb.debian.org.

use std::time::{Duration, Instant};

use agentless_sandbox::docker::{
    DockerRuntime, DockerSandbox, ImageKind, ImageLabels, ProjectImageOptions, PythonVersion, WorkerLimits,
};
use agentless_sandbox::environment::TestEnvironment;
use agentless_sandbox::{ExecRequest, Sandbox, SandboxError, Setup};

/// Untimed pause before each candidate of the "apart" mode: the time a real test run gives the spare to start.
const SPARE_PAUSE: Duration = Duration::from_millis(1500);

#[path = "support/bench_support.rs"]
mod bench_support;
use bench_support::{PATCH, calc_project, median_and_p90};

/// How a candidate starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// `Sandbox::reset`: a fresh container (the spare) when the current one was used.
    Reset,
    /// `Sandbox::reset_checkout`: the old warm reset, git only.
    ResetCheckout,
    /// Nothing: a container just started.
    Nothing,
}

/// One candidate; returns the time of its start (the reset) and of the whole.
async fn candidate(sandbox: &dyn Sandbox, start: Start) -> Result<(Duration, Duration), SandboxError> {
    let started = Instant::now();
    match start {
        Start::Reset => sandbox.reset().await?,
        Start::ResetCheckout => sandbox.reset_checkout().await?,
        Start::Nothing => {}
    }
    let reset = started.elapsed();
    let outcome = sandbox.apply_patch(PATCH).await?;
    assert!(outcome.applied(), "{}", outcome.log());
    let output = sandbox.exec(&ExecRequest::new(["python", "-c", "pass"], Duration::from_secs(60))).await?;
    assert!(output.success(), "{output:?}");
    Ok((reset, started.elapsed()))
}

/// `rounds` candidates in `worker`, each after `pause` (not timed): the reset times and the candidate times.
async fn rounds_in(
    worker: &DockerSandbox,
    start: Start,
    rounds: usize,
    pause: Duration,
) -> Result<(Vec<Duration>, Vec<Duration>), SandboxError> {
    let (mut resets, mut totals) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        tokio::time::sleep(pause).await;
        let (reset, total) = candidate(worker, start).await?;
        resets.push(reset);
        totals.push(total);
    }
    Ok((resets, totals))
}

fn report(label: &str, resets: Option<Vec<Duration>>, totals: Vec<Duration>) {
    let (median, p90) = median_and_p90(totals);
    let reset = resets
        .map(|resets| median_and_p90(resets).0)
        .map_or_else(String::new, |reset| format!("   (of which reset median {reset:.1?})"));
    println!("  {label:<38} median {median:>9.1?}  p90 {p90:>9.1?}{reset}");
}

#[tokio::main]
async fn main() -> Result<(), SandboxError> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(30);
    let cache = args.next().map_or_else(|| std::env::temp_dir().join("agentless-rootfs-cache"), Into::into);
    let runtime = DockerRuntime::connect(DockerRuntime::new_run_id()).await?;
    let python = PythonVersion::Py311;

    let started = Instant::now();
    match agentless_sandbox::docker::ensure_base_image(runtime.docker(), python, &cache).await? {
        Some(build) => println!(
            "base image {}: built in {:.1?} (debootstrap + tar {:.1?}{}, import {:.1?})",
            build.image,
            started.elapsed(),
            build.debootstrap,
            if build.rootfs_cached { ", rootfs cached" } else { "" },
            build.import
        ),
        None => println!("base image {}: present", python.image()),
    }

    let files = calc_project()?;
    let options = ProjectImageOptions {
        python,
        setup: Setup::Bare,
        system_packages: Vec::new(),
        pip_cert: None,
        labels: ImageLabels::new(ImageKind::Project),
        scm_version: None,
    };
    let image = runtime.project_image(&files, &options).await?;
    println!(
        "project image {}: {} in {:.1?}",
        image.image,
        if image.reused { "reused" } else { "built" },
        image.duration
    );

    let limits = WorkerLimits::default();
    let environment = TestEnvironment::default();
    let worker = runtime.start_worker(&image, &limits, &environment).await?;
    candidate(&worker, Start::ResetCheckout).await?;
    let (old_resets, old) = rounds_in(&worker, Start::ResetCheckout, rounds, Duration::ZERO).await?;
    // The first reset starts the spare; give it time, as a test run would.
    candidate(&worker, Start::Reset).await?;
    let (swap_resets, swap) = rounds_in(&worker, Start::Reset, rounds, Duration::ZERO).await?;
    let (ready_resets, ready) = rounds_in(&worker, Start::Reset, rounds, SPARE_PAUSE).await?;
    worker.remove().await;

    let mut fresh = Vec::new();
    for _ in 0..rounds.div_ceil(3).max(3) {
        let started = Instant::now();
        let worker = runtime.start_worker(&image, &limits, &environment).await?;
        candidate(&worker, Start::Nothing).await?;
        worker.remove().await;
        fresh.push(started.elapsed());
    }
    let removed = runtime.shutdown().await?;

    let fresh_median = median_and_p90(fresh.clone()).0;
    println!(
        "per-candidate overhead (reset + apply + `python -c pass`), {rounds} rounds per worker mode, {} fresh:",
        fresh.len()
    );
    report("old warm reset (git reset + clean)", Some(old_resets), old.clone());
    report("reset = spare swap, back to back", Some(swap_resets), swap.clone());
    report(&format!("reset = spare swap, {SPARE_PAUSE:?} apart"), Some(ready_resets), ready.clone());
    report("fresh container per candidate", None, fresh);
    for (label, samples) in [("old warm reset", old), ("spare swap, back to back", swap), ("spare swap, apart", ready)]
    {
        println!("  fresh / {label:<26} {:.1}x", fresh_median.as_secs_f64() / median_and_p90(samples).0.as_secs_f64());
    }
    println!("containers left at shutdown: {removed}");
    Ok(())
}
