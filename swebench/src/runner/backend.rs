//! Where instances are evaluated: a local sandbox (a temporary copy and a virtualenv from the host's `python3.X`,
//! dependencies and install run in it), or a Docker worker from two cached layers: an environment image (the
//! repository at `environment_setup_commit` on `agentless/python:X.Y` with the dependencies and the install, so one
//! per (repo, version)) and an instance image (its checkout replaced by the base commit's files, install run again).
//! Images are tagged by content hash, so a rerun reuses them; setup has the network, the tests do not.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use agentless_sandbox::docker::{
    DockerRuntime, DockerSandbox, ImageKind, ImageLabels, ProjectImage, ProjectImageOptions, PythonVersion,
    WorkerLimits, base_image_exists,
};
use agentless_sandbox::environment::TestEnvironment;
use agentless_sandbox::local::{LocalOptions, LocalSandbox};
use agentless_sandbox::{ProjectFiles, Sandbox, SandboxError, Setup};

/// The Docker images' departure from upstream's: bytecode caches written during setup never enter the baseline
/// commit (tracked there, they broke `git reset --hard` on fuse-overlayfs and lost the instance).
const BASELINE_NOTE: &str = "note: setup ran with PYTHONDONTWRITEBYTECODE=1, and bytecode and pytest caches (__pycache__, \
                             *.pyc, .pytest_cache) were deleted from the checkout before its baseline commit (upstream's \
                             image keeps them, untracked); the tests still write bytecode\n";

/// How sandboxes are made.
#[derive(Debug)]
pub enum Backend {
    Local,
    Docker(Box<DockerBackend>),
}

/// Docker workers and what building their images needs.
#[derive(Debug)]
pub struct DockerBackend {
    pub runtime: DockerRuntime,
    pub limits: WorkerLimits,
    pub pip_cert: Option<PathBuf>,
    /// Per environment key, held while that environment image is looked up or built: instances sharing an
    /// environment wait for one build and reuse it; different environments build side by side.
    environment_builds: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Backend {
    pub fn docker(runtime: DockerRuntime, limits: WorkerLimits, pip_cert: Option<PathBuf>) -> Self {
        Backend::Docker(Box::new(DockerBackend {
            runtime,
            limits,
            pip_cert,
            environment_builds: std::sync::Mutex::new(HashMap::new()),
        }))
    }
}

/// A ready sandbox and how it was made.
#[derive(Debug)]
pub struct PreparedSandbox {
    pub sandbox: SandboxHandle,
    /// Every setup step with its exit code and output (for a reused image, the log its build kept).
    pub setup_log: String,
    /// The Python the sandbox really has, when it differs from the one asked for.
    pub python_note: Option<String>,
    /// The environment and instance images (Docker only), each with whether it was reused.
    pub images: Vec<(String, bool)>,
}

/// What a sandbox is made of.
#[derive(Debug, Clone, Copy)]
pub struct SandboxRecipe<'a> {
    pub python: PythonVersion,
    /// The checkout the tests run in (the base commit).
    pub files: &'a ProjectFiles,
    /// The checkout the environment is built with (Docker layering): the environment-setup commit.
    pub environment_files: &'a ProjectFiles,
    /// Bash installing the dependencies.
    pub dependencies_script: &'a str,
    /// Bash run in the checkout after the dependencies (`pre_install`, `install`).
    pub install_script: &'a str,
    /// Debian packages root installs in the environment image (a local sandbox uses the host's).
    pub system_packages: &'a [String],
    /// Bash run first when setting up `environment_files` (e.g. the version setuptools-scm should report).
    pub environment_prelude: &'a str,
    /// Bash run first when setting up `files`.
    pub instance_prelude: &'a str,
    /// Names the environment (e.g. repository, version and environment commit): recipes with the same key build
    /// the same environment image.
    pub environment_key: &'a str,
    /// The repository (`owner/name`) and its SWE-bench version, labelled on the images.
    pub repository: &'a str,
    pub version: &'a str,
}

impl SandboxRecipe<'_> {
    /// The whole setup of `files` in one step, as a sandbox without image layers runs it.
    pub fn single_step_setup(&self) -> String {
        single_step_setup(self.instance_prelude, self.dependencies_script, self.install_script)
    }

    /// The labels of an image of this recipe: `kind`, the repository and the version.
    fn image_labels(&self, kind: ImageKind) -> ImageLabels {
        ImageLabels { kind, repository: Some(self.repository.to_owned()), version: Some(self.version.to_owned()) }
    }
}

/// One setup script: the instance's prelude, the dependencies, then the install.
pub(crate) fn single_step_setup(prelude: &str, dependencies_script: &str, install_script: &str) -> String {
    format!("{prelude}\n{dependencies_script}\n{install_script}")
}

#[derive(Debug)]
pub enum SandboxHandle {
    Local(LocalSandbox),
    Docker(DockerSandbox),
}

impl SandboxHandle {
    pub fn as_sandbox(&self) -> &dyn Sandbox {
        match self {
            SandboxHandle::Local(sandbox) => sandbox,
            SandboxHandle::Docker(sandbox) => sandbox,
        }
    }

    /// Remove the container now (a local sandbox's folder goes when it is dropped).
    pub async fn dispose(self) {
        match self {
            SandboxHandle::Local(sandbox) => drop(sandbox),
            SandboxHandle::Docker(sandbox) => sandbox.remove().await,
        }
    }
}

impl Backend {
    /// A sandbox holding `recipe.files` with a virtualenv on (the closest available to) `recipe.python` holding
    /// the dependencies and the installed checkout.
    pub async fn prepare(&self, recipe: &SandboxRecipe<'_>) -> Result<PreparedSandbox, SandboxError> {
        match self {
            Backend::Local => {
                let full_setup = bash(&recipe.single_step_setup());
                let (interpreter, python_note) = local_interpreter(recipe.python).await;
                let options = LocalOptions { python: interpreter, setup: full_setup, ..LocalOptions::default() };
                let sandbox = LocalSandbox::create(recipe.files, &options).await?;
                let mut setup_log = String::new();
                if !recipe.system_packages.is_empty() {
                    setup_log = format!(
                        "note: a local sandbox has the host's Debian packages; not installed: {}\n",
                        recipe.system_packages.join(" ")
                    );
                }
                setup_log.push_str(sandbox.setup_log());
                Ok(PreparedSandbox {
                    sandbox: SandboxHandle::Local(sandbox),
                    setup_log,
                    python_note,
                    images: Vec::new(),
                })
            }
            Backend::Docker(docker) => {
                let images = docker.instance_image(recipe).await?;
                let sandbox =
                    docker.runtime.start_worker(&images.instance, &docker.limits, &TestEnvironment::default()).await?;
                Ok(PreparedSandbox {
                    sandbox: SandboxHandle::Docker(sandbox),
                    setup_log: format!("{BASELINE_NOTE}{}{}", images.environment.setup_log, images.instance.setup_log),
                    python_note: images.python_note,
                    images: vec![
                        (images.environment.image, images.environment.reused),
                        (images.instance.image, images.instance.reused),
                    ],
                })
            }
        }
    }
}

/// The two images an instance runs in.
#[derive(Debug, Clone)]
pub struct InstanceImages {
    /// The dependencies and the install at the environment-setup commit, shared by a (repo, version).
    pub environment: ProjectImage,
    /// The environment image with the checkout replaced by the base commit's files, installed again.
    pub instance: ProjectImage,
    /// The Python the images really have, when it differs from the one asked for.
    pub python_note: Option<String>,
}

impl DockerBackend {
    /// Build (or reuse) the environment image and the instance image of `recipe`.
    pub async fn instance_image(&self, recipe: &SandboxRecipe<'_>) -> Result<InstanceImages, SandboxError> {
        let (version, python_note) = docker_python(&self.runtime, recipe.python).await?;
        let environment_options = ProjectImageOptions {
            python: version,
            setup: bash(&format!(
                "{}\n{}\n{}",
                recipe.environment_prelude, recipe.dependencies_script, recipe.install_script
            )),
            system_packages: recipe.system_packages.to_vec(),
            pip_cert: self.pip_cert.clone(),
            labels: recipe.image_labels(ImageKind::Environment),
            scm_version: None,
        };
        // One build per environment at a time: concurrent instances of a (repo, version) wait and reuse it.
        let build_lock = {
            let mut locks = self.environment_builds.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(locks.entry(recipe.environment_key.to_owned()).or_default())
        };
        let environment = {
            let _one_build = build_lock.lock().await;
            self.runtime.project_image(recipe.environment_files, &environment_options).await?
        };
        let instance_options = ProjectImageOptions {
            python: version,
            setup: bash(&format!("{}\n{}", recipe.instance_prelude, recipe.install_script)),
            system_packages: Vec::new(),
            pip_cert: self.pip_cert.clone(),
            labels: recipe.image_labels(ImageKind::Instance),
            scm_version: None,
        };
        let instance = self.runtime.derived_project_image(&environment.image, recipe.files, &instance_options).await?;
        Ok(InstanceImages { environment, instance, python_note })
    }
}

/// A setup step running `script` with bash.
fn bash(script: &str) -> Setup {
    Setup::Command(format!("bash -c {}", crate::environment::shell_quote(script)))
}

/// `python3.X` when it runs (a pyenv shim may exist without a version behind it), else `python3` (noted).
async fn local_interpreter(python: PythonVersion) -> (String, Option<String>) {
    let wanted = format!("python{}", python.version());
    let probe = tokio::process::Command::new(&wanted)
        .args(["-c", ""])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    if probe.is_ok_and(|status| status.success()) {
        (wanted, None)
    } else {
        ("python3".to_owned(), Some(format!("{wanted} does not run here; used python3")))
    }
}

/// The base image for `python`, or — when it was never built — the first existing one (noted).
async fn docker_python(
    runtime: &DockerRuntime,
    python: PythonVersion,
) -> Result<(PythonVersion, Option<String>), SandboxError> {
    let wanted = python;
    if base_image_exists(runtime.docker(), wanted).await? {
        return Ok((wanted, None));
    }
    if runtime.builds_missing_base_images() {
        runtime.ensure_base_image(wanted).await?;
        return Ok((wanted, None));
    }
    for fallback in PythonVersion::ALL {
        if base_image_exists(runtime.docker(), fallback).await? {
            let note = format!(
                "{} is missing (build it with `agentless sandbox build-image --python {}`); used {}",
                wanted.image(),
                wanted.version(),
                fallback.image()
            );
            // Loud, not only in the instance's log: another Python can change test names and results.
            tracing::warn!("{note}; results may differ from upstream's");
            return Ok((fallback, Some(note)));
        }
    }
    Err(SandboxError::ImageMissing {
        image: wanted.image(),
        hint: format!("agentless sandbox build-image --python {}", wanted.version()),
    })
}
