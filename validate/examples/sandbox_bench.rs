//! Per-candidate overhead of the Docker sandbox: reset + apply + `python -c pass` in a warm worker, against creating
//! a fresh container per candidate. Builds the base image first when it is missing (and reports how long it took).
//!
//! ```text
//! cargo run --release -p agentless-validate --example sandbox_bench -- [ROUNDS] [ROOTFS_CACHE_DIR]
//! ```
//! Needs a Docker engine; building the base image also needs root, debootstrap and deb.debian.org.

use std::time::{Duration, Instant};

use agentless_validate::sandbox::docker::{DockerRuntime, ProjectImageOptions, PythonVersion, WorkerLimits};
use agentless_validate::sandbox::{ExecRequest, ProjectFiles, Sandbox, SandboxError, Setup};

const PATCH: &str = "\
--- a/calc/core.py
+++ b/calc/core.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
";

fn median_and_p90(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() - 1) as f64 * fraction).round() as usize];
    (at(0.5), at(0.9))
}

async fn candidate(sandbox: &dyn Sandbox, reset: bool) -> Result<(), SandboxError> {
    if reset {
        sandbox.reset().await?;
    }
    let outcome = sandbox.apply_patch(PATCH).await?;
    assert!(outcome.applied(), "{}", outcome.log());
    let output = sandbox.exec(&ExecRequest::new(["python", "-c", "pass"], Duration::from_secs(60))).await?;
    assert!(output.success(), "{output:?}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), SandboxError> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(30);
    let cache = args.next().map_or_else(|| std::env::temp_dir().join("agentless-rootfs-cache"), Into::into);
    let runtime = DockerRuntime::connect(DockerRuntime::new_run_id()).await?;
    let python = PythonVersion::Py311;

    let started = Instant::now();
    match agentless_validate::sandbox::docker::ensure_base_image(runtime.docker(), python, &cache).await? {
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

    let files = ProjectFiles::from_pairs([
        ("calc/__init__.py".to_owned(), b"from .core import add\n".to_vec()),
        ("calc/core.py".to_owned(), b"def add(a, b):\n    return a - b\n".to_vec()),
        (
            "tests/test_core.py".to_owned(),
            b"from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n".to_vec(),
        ),
    ])?;
    let options = ProjectImageOptions { python, setup: Setup::Bare, system_packages: Vec::new(), pip_cert: None };
    let image = runtime.project_image(&files, &options).await?;
    println!(
        "project image {}: {} in {:.1?}",
        image.image,
        if image.reused { "reused" } else { "built" },
        image.duration
    );

    let limits = WorkerLimits::default();
    let worker = runtime.start_worker(&image, &limits).await?;
    candidate(&worker, true).await?;
    let mut warm = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        candidate(&worker, true).await?;
        warm.push(started.elapsed());
    }
    worker.remove().await;

    let mut fresh = Vec::new();
    for _ in 0..rounds.div_ceil(3).max(3) {
        let started = Instant::now();
        let worker = runtime.start_worker(&image, &limits).await?;
        candidate(&worker, false).await?;
        worker.remove().await;
        fresh.push(started.elapsed());
    }
    let removed = runtime.shutdown().await?;

    let (warm_median, warm_p90) = median_and_p90(warm.clone());
    let (fresh_median, fresh_p90) = median_and_p90(fresh.clone());
    println!(
        "per-candidate overhead (reset + apply + `python -c pass`), {} warm / {} fresh rounds:",
        warm.len(),
        fresh.len()
    );
    println!("  warm worker     median {warm_median:>9.1?}  p90 {warm_p90:>9.1?}   (target <= 150ms)");
    println!("  fresh container median {fresh_median:>9.1?}  p90 {fresh_p90:>9.1?}");
    println!("  speed-up        {:.1}x   (target >= 5x)", fresh_median.as_secs_f64() / warm_median.as_secs_f64());
    println!("containers left at shutdown: {removed}");
    Ok(())
}
