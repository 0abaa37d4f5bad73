//! Shared fixtures: a tiny project, a patch for it, and the Docker images built once per test run.

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use agentless_sandbox::docker::{
    DockerRuntime, ImageKind, ImageLabels, ProjectImage, ProjectImageOptions, PythonVersion,
};
use agentless_sandbox::{ExecRequest, ProjectFiles, SandboxError, Setup};

/// Set (to anything) to make a missing Docker engine fail the Docker tests instead of skipping them.
pub const REQUIRE_DOCKER: &str = "AGENTLESS_REQUIRE_DOCKER";

pub const CORE: &str = "def add(a, b):\n    return a - b\n";
pub const TEST: &str = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n";
pub const FIX: &str = include_str!("../fixtures/calc_fix.patch");
/// Context that matches no file line: every method fails.
pub const BROKEN: &str = "\
--- a/calc/core.py
+++ b/calc/core.py
@@ -1,2 +1,2 @@
 def subtract(a, b):
-    return a * b
+    return a / b
";

pub fn project() -> ProjectFiles {
    ProjectFiles::from_pairs([
        ("calc/__init__.py".to_owned(), b"from .core import add\n".to_vec()),
        ("calc/core.py".to_owned(), CORE.as_bytes().to_vec()),
        ("calc/notes.txt".to_owned(), b"one\ntwo\nthree\nfour\nfive\nsix\nseven\n".to_vec()),
        ("tests/test_core.py".to_owned(), TEST.as_bytes().to_vec()),
        (".gitignore".to_owned(), b"*.txt\n".to_vec()),
    ])
    .unwrap()
}

pub fn shell(command: &str) -> ExecRequest {
    ExecRequest::new(["sh", "-c", command], Duration::from_secs(60))
}

/// The project image for [`project`] on Python 3.11, building the base image first when it is missing; `None` when
/// no engine is reachable (and [`REQUIRE_DOCKER`] is unset). Built once per test binary.
pub fn docker_image() -> Option<ProjectImage> {
    static IMAGE: OnceLock<Result<Option<ProjectImage>, String>> = OnceLock::new();
    let prepared = IMAGE.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime
                .block_on(prepare_image())
                .map_err(|error| format!("{error}: {:?}", std::error::Error::source(&error)))
        })
        .join()
        .unwrap()
    });
    match prepared {
        Ok(image) => image.clone(),
        Err(error) => panic!("preparing the Docker images failed: {error}"),
    }
}

/// A runtime with a run of its own (its containers are removed by its shutdown).
pub async fn fresh_runtime() -> DockerRuntime {
    DockerRuntime::connect(format!("it-{}", DockerRuntime::new_run_id())).await.unwrap()
}

/// A [`fresh_runtime`], or `None` when the Docker tests are skipped (no engine, no image).
pub async fn image_runtime() -> Option<DockerRuntime> {
    docker_image()?;
    Some(fresh_runtime().await)
}

async fn prepare_image() -> Result<Option<ProjectImage>, SandboxError> {
    let runtime = match DockerRuntime::connect(format!("it-images-{}", DockerRuntime::new_run_id())).await {
        Ok(runtime) => runtime,
        Err(error @ SandboxError::EngineUnreachable(_)) => {
            if std::env::var_os(REQUIRE_DOCKER).is_some() {
                return Err(error);
            }
            // Straight to the process's stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPING the Docker sandbox tests: {error} (set {REQUIRE_DOCKER}=1 to fail instead) ***\n"
            );
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let python = PythonVersion::Py311;
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("agentless-rootfs");
    if let Some(build) = agentless_sandbox::docker::ensure_base_image(runtime.docker(), python, &cache).await? {
        eprintln!("built {} in {:?} + {:?}", build.image, build.debootstrap, build.import);
    }
    let options = ProjectImageOptions {
        python,
        setup: Setup::Bare,
        system_packages: Vec::new(),
        pip_cert: None,
        labels: ImageLabels::new(ImageKind::Project),
        scm_version: None,
    };
    let image = runtime.project_image(&project(), &options).await?;
    runtime.shutdown().await?;
    Ok(Some(image))
}
