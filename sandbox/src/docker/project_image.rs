//! Project images: a base image plus the repository at `/work/repo` with a baseline commit and a virtualenv at
//! `/work/venv` holding the test dependencies, committed and tagged by a content hash so it is built once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::models::ContainerConfig;
use bollard::query_parameters::{CommitContainerOptionsBuilder, DownloadFromContainerOptionsBuilder};
use futures::TryStreamExt;

use super::base_image::image_exists;
use super::{
    AGENT_UID, AGENT_USER, DockerRuntime, ENGINE_CALL_DEADLINE, ImageKind, ImageLabels, LABEL_PROJECT, PythonVersion,
    REPO_DIR, VENV_DIR, container_exec, docker_error, remove_container, upload_archive,
};
use crate::project::{ProjectFiles, Setup, append_file, append_folder, content_hash};
use crate::scm_version::PRETEND_VERSION;
use crate::{ExecRequest, SandboxError};

/// Bump when the way images are built changes, so old images are not reused.
const RECIPE_VERSION: &str = "project-image-v3";
/// Bump when the way system-package layers are built changes.
const SYSTEM_RECIPE_VERSION: &str = "system-image-v1";
pub(super) const IMAGE_REPOSITORY: &str = "agentless/project";
/// The commit comments of the images; an image built before [`super::LABEL_KIND`] existed is known by them.
pub(super) const COMMENT_PROJECT_IMAGE: &str = "agentless project image";
pub(super) const COMMENT_SYSTEM_IMAGE: &str = "agentless system packages";
pub(super) const COMMENT_DERIVED_IMAGE: &str = "agentless derived project image";
const CERT_PATH: &str = "/tmp/agentless-pip-ca.crt";
/// The folder (made in an existing one) where every image keeps the log of the setup that built it, so a run that
/// reuses the image still shows how it was set up.
const SETUP_LOG_PARENT: &str = "/var/lib";
const SETUP_LOG_FOLDER: &str = "agentless";
const SETUP_LOG_NAME: &str = "setup.log";
const STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const STEP_OUTPUT_CAP: usize = 64 * 1024;
/// The first setup step: the copy becomes a git repository before anything is installed (setuptools-scm and
/// versioneer read the version from git while pip builds the project), bytecode and pytest caches excluded.
const ORIGINAL_COMMIT: &str = "git init -q \
     && printf '__pycache__/\\n*.py[co]\\n.pytest_cache/\\n' >> .git/info/exclude \
     && git add -A -f && git -c user.name=agentless \
     -c user.email=agentless@localhost commit -q --no-verify --allow-empty -m original";
/// The last setup step: the bytecode and pytest caches that setup wrote are deleted, so they never enter the
/// baseline (a cache tracked in the image's layer breaks `git reset --hard` on fuse-overlayfs: "unable to create
/// file …: File exists"), then every other file is committed, ignored ones included (files the install built in
/// place must survive a `git clean -x`).
const BASELINE_COMMIT: &str = "find . -path ./.git -prune -o \\( -name __pycache__ -o -name .pytest_cache \\) \
     -type d -prune -exec rm -rf {} + -o -name '*.py[co]' -type f -exec rm -f {} + \
     && git add -A -f && git -c user.name=agentless \
     -c user.email=agentless@localhost commit -q --no-verify --allow-empty -m baseline";

#[derive(Debug, Clone)]
pub struct ProjectImageOptions {
    pub python: PythonVersion,
    pub setup: Setup,
    /// Debian packages installed by root with `apt-get` before the setup (the build container has the network).
    /// Only [`DockerRuntime::project_image`] installs them: a derived image has its parent's.
    pub system_packages: Vec<String>,
    /// The CA bundle pip needs to reach PyPI from the build container (see [`host_pip_cert`]); copied in and
    /// passed as `--cert`.
    pub pip_cert: Option<PathBuf>,
    /// What the image is, for `sandbox list` and `sandbox prune` (a system-packages layer built on the way is
    /// labelled as such).
    pub labels: ImageLabels,
    /// The version setuptools-scm is told during setup (see [`crate::scm_version`]); `None` tells it nothing.
    pub scm_version: Option<String>,
}

impl ProjectImageOptions {
    /// `version` of a build recipe with what else the image depends on: the pretended setuptools-scm version.
    fn recipe(&self, version: &str) -> String {
        match &self.scm_version {
            Some(scm_version) => format!("{version}+{PRETEND_VERSION}={scm_version}"),
            None => version.to_owned(),
        }
    }
}

/// A built (or reused) project image.
#[derive(Debug, Clone)]
pub struct ProjectImage {
    /// `agentless/project:<hash>`.
    pub image: String,
    /// It existed already; nothing was built.
    pub reused: bool,
    /// Every setup step with its exit code and output; for a reused image, a first line saying so, then the log
    /// its build kept.
    pub setup_log: String,
    pub duration: Duration,
}

/// The CA bundle the host's pip is configured with (`cert` in `pip config list`), if it names an existing file.
pub async fn host_pip_cert() -> Option<PathBuf> {
    let output = tokio::process::Command::new("python3").args(["-m", "pip", "config", "list"]).output().await.ok()?;
    String::from_utf8_lossy(&output.stdout).lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        let path = PathBuf::from(value.trim().trim_matches(['\'', '"']));
        (key.ends_with(".cert") && path.is_file()).then_some(path)
    })
}

impl DockerRuntime {
    /// The image for `files` on `options.python` with `options.setup`, built unless one with the same content hash
    /// exists. The build container has the network (for PyPI) and carries this run's labels until it is removed.
    pub async fn project_image(
        &self,
        files: &ProjectFiles,
        options: &ProjectImageOptions,
    ) -> Result<ProjectImage, SandboxError> {
        let started = Instant::now();
        self.ensure_base_image(options.python).await?;
        let base = options.python.image();
        let inspect = self.docker.inspect_image(&base);
        let base_id =
            match super::answered(ENGINE_CALL_DEADLINE, || format!("inspecting image {base}"), inspect).await? {
                Ok(inspected) => inspected.id.unwrap_or_default(),
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                    return Err(SandboxError::ImageMissing {
                        image: base,
                        hint: format!("agentless sandbox build-image --python {}", options.python.version()),
                    });
                }
                Err(source) => return Err(docker_error(format!("inspecting {base}"), source)),
            };
        // Debian packages go in a layer of their own, shared by every project image that needs the same ones.
        let (build_from, build_from_id, system_log) = if options.system_packages.is_empty() {
            (base, base_id, String::new())
        } else {
            self.system_image(&base, &base_id, &options.system_packages).await?
        };
        let hash = content_hash(&options.recipe(RECIPE_VERSION), &build_from_id, files, &options.setup);
        let tag = &hash[..16];
        let image = format!("{IMAGE_REPOSITORY}:{tag}");
        if image_exists(&self.docker, &image).await? {
            let setup_log = self.reused_setup_log(&image).await;
            return Ok(ProjectImage { image, reused: true, setup_log, duration: started.elapsed() });
        }
        tracing::info!(%image, files = files.files().len(), "building the project image");
        let container = self.start_container(&build_from, None).await?;
        let built = self.prepare_project_container(&container, files, options).await.map(|log| system_log + &log);
        let setup_log =
            self.commit_and_remove(&container, built, tag, &hash, COMMENT_PROJECT_IMAGE, &options.labels).await?;
        Ok(ProjectImage { image, reused: false, setup_log, duration: started.elapsed() })
    }

    /// `base` with `packages` installed by root (the build container has the network), built once per (base,
    /// package list). Returns the image, its content hash (what images built on it are keyed by) and the install
    /// log (a line naming the image when it existed).
    async fn system_image(
        &self,
        base: &str,
        base_id: &str,
        packages: &[String],
    ) -> Result<(String, String, String), SandboxError> {
        let command = apt_install(packages);
        let hash =
            content_hash(SYSTEM_RECIPE_VERSION, base_id, &ProjectFiles::default(), &Setup::Command(command.clone()));
        let tag = &hash[..16];
        let image = format!("{IMAGE_REPOSITORY}:{tag}");
        if image_exists(&self.docker, &image).await? {
            let log = format!("# the Debian packages ({}) are in the existing image {image}\n", packages.join(" "));
            return Ok((image, hash, log));
        }
        tracing::info!(%image, %command, "building a system-packages image");
        let container = self.start_container(base, None).await?;
        let request = ExecRequest {
            output_cap: STEP_OUTPUT_CAP,
            cwd: Some("/".to_owned()),
            ..ExecRequest::new(["sh", "-c", &command], STEP_TIMEOUT)
        };
        let mut log = "# as root\n".to_owned();
        let built = self.build_step(&container, &request, "root", &mut log).await.map(|()| log);
        let labels = ImageLabels::new(ImageKind::SystemPackages);
        let log = self.commit_and_remove(&container, built, tag, &hash, COMMENT_SYSTEM_IMAGE, &labels).await?;
        Ok((image, hash, log))
    }

    /// Commit a prepared build container as `agentless/project:<tag>` labelled with `hash` and `labels` (when
    /// `built` is the setup log), then remove the container either way.
    async fn commit_and_remove(
        &self,
        container: &str,
        built: Result<String, SandboxError>,
        tag: &str,
        hash: &str,
        comment: &str,
        labels: &ImageLabels,
    ) -> Result<String, SandboxError> {
        let committed = match built {
            Ok(setup_log) => {
                self.keep_setup_log(container, &setup_log).await?;
                let commit = CommitContainerOptionsBuilder::default()
                    .container(container)
                    .repo(IMAGE_REPOSITORY)
                    .tag(tag)
                    .comment(comment)
                    .pause(true)
                    .build();
                let config = ContainerConfig {
                    labels: Some(
                        labels
                            .to_map()
                            .into_iter()
                            .chain([(LABEL_PROJECT.to_owned(), hash.to_owned())])
                            .chain(super::cleared_run_labels())
                            .collect(),
                    ),
                    ..ContainerConfig::default()
                };
                self.docker
                    .commit_container(commit, config)
                    .await
                    .map(|_| setup_log)
                    .map_err(|source| docker_error(format!("committing {IMAGE_REPOSITORY}:{tag}"), source))
            }
            Err(error) => Err(error),
        };
        remove_container(&self.docker, container).await;
        committed
    }

    /// Write `setup_log` into the build container (see [`SETUP_LOG_PARENT`]) so the committed image keeps it.
    async fn keep_setup_log(&self, container: &str, setup_log: &str) -> Result<(), SandboxError> {
        let mut builder = tar::Builder::new(Vec::new());
        append_folder(&mut builder, SETUP_LOG_FOLDER, 0, 0)?;
        let path = format!("{SETUP_LOG_FOLDER}/{SETUP_LOG_NAME}");
        append_file(&mut builder, &path, setup_log.as_bytes(), 0o644, 0, 0)?;
        upload_archive(&self.docker, container, SETUP_LOG_PARENT, builder.into_inner()?).await
    }

    /// The setup log of the existing `image`, after a line saying it was reused. An image built before images kept
    /// their log, or one whose log cannot be read, gets a line saying that instead: the log is never silently empty.
    async fn reused_setup_log(&self, image: &str) -> String {
        match self.kept_setup_log(image).await {
            Ok(Some(log)) => format!("# reused {image}; the log of the setup that built it follows\n{log}"),
            Ok(None) => {
                format!("# reused {image}; it was built before images kept their setup log, so none is shown\n")
            }
            Err(error) => format!("# reused {image}; its setup log could not be read: {error}\n"),
        }
    }

    /// The log `image` keeps, read from a container of it that is created, never started, and removed afterwards;
    /// `None` when it has none.
    async fn kept_setup_log(&self, image: &str) -> Result<Option<String>, SandboxError> {
        let container = self.create_stopped_container(image).await?;
        let path = format!("{SETUP_LOG_PARENT}/{SETUP_LOG_FOLDER}/{SETUP_LOG_NAME}");
        let options = DownloadFromContainerOptionsBuilder::default().path(&path).build();
        let download =
            self.docker.download_from_container(&container, Some(options)).map_ok(|chunk| chunk.to_vec()).try_concat();
        let archive = super::answered(ENGINE_CALL_DEADLINE, || format!("reading {path} from {image}"), download).await;
        remove_container(&self.docker, &container).await;
        let archive = match archive? {
            Ok(archive) => archive,
            // The engine says 404 for a missing path and for a missing container (one the run's shutdown removed):
            // only the first means the image keeps no log.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, message })
                if !message.contains("No such container") =>
            {
                return Ok(None);
            }
            Err(source) => return Err(docker_error(format!("reading {path} from {image}"), source)),
        };
        let mut entries = tar::Archive::new(archive.as_slice());
        let mut log = Vec::new();
        if let Some(entry) = entries.entries()?.next() {
            std::io::Read::read_to_end(&mut entry?, &mut log)?;
        }
        Ok(Some(String::from_utf8_lossy(&log).into_owned()))
    }

    /// Copy the files in, commit them ([`ORIGINAL_COMMIT`]), create the virtualenv, install the dependencies (with `PYTHONDONTWRITEBYTECODE=1`), then
    /// commit the baseline (after the installation, so files it builds in place belong to the baseline and survive
    /// resets) without bytecode or pytest caches ([`BASELINE_COMMIT`]).
    async fn prepare_project_container(
        &self,
        container: &str,
        files: &ProjectFiles,
        options: &ProjectImageOptions,
    ) -> Result<String, SandboxError> {
        let (work_dir, repo_folder) = REPO_DIR.rsplit_once('/').unwrap_or(("/work", "repo"));
        upload_archive(
            &self.docker,
            container,
            work_dir,
            files.to_tar(repo_folder, AGENT_UID.into(), AGENT_UID.into())?,
        )
        .await?;
        let mut pip_options = "--no-cache-dir --disable-pip-version-check --no-input --progress-bar off".to_owned();
        if let Some(cert) = &options.pip_cert {
            let mut builder = tar::Builder::new(Vec::new());
            let name =
                Path::new(CERT_PATH).file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            crate::project::append_file(&mut builder, &name, &fs_err::read(cert)?, 0o644, 0, 0)?;
            upload_archive(&self.docker, container, "/tmp", builder.into_inner()?).await?;
            let _ = write!(pip_options, " --cert {CERT_PATH}");
        }
        // No bytecode caches in the checkout from setup (they would otherwise enter the baseline; pip still
        // compiles what it installs in the virtualenv). The pips that build isolation starts do not inherit
        // `--cert`; they do read the environment.
        let mut step_env = vec![("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned())];
        step_env.extend(options.pip_cert.iter().map(|_| ("PIP_CERT".to_owned(), CERT_PATH.to_owned())));
        let mut log = String::new();
        if let Some(version) = &options.scm_version {
            // The copy's repository has one untagged commit: setuptools-scm would make up a version.
            step_env.push((PRETEND_VERSION.to_owned(), version.clone()));
            let _ = writeln!(log, "# {PRETEND_VERSION}={version} (the copy has no tags)");
        }

        let mut steps = vec![
            crate::SetupStep { command: ORIGINAL_COMMIT.to_owned(), required: true },
            crate::SetupStep { command: format!("python3 -m venv {VENV_DIR}"), required: true },
        ];
        steps.extend(options.setup.steps(files, &pip_options));
        steps.push(crate::SetupStep { command: BASELINE_COMMIT.to_owned(), required: true });
        for step in steps {
            tracing::info!(command = %step.command, "project image setup");
            let request = ExecRequest {
                output_cap: STEP_OUTPUT_CAP,
                env: step_env.clone(),
                ..ExecRequest::new(["sh", "-c", &step.command], STEP_TIMEOUT)
            };
            match self.build_step(container, &request, AGENT_USER, &mut log).await {
                Err(SandboxError::Setup { exit_code, .. }) if !step.required => {
                    tracing::warn!(command = %step.command, exit_code, "optional setup step failed");
                }
                other => other?,
            }
        }
        Ok(log)
    }

    /// Run one build step (`sh -c COMMAND`) as `user` and add its entry (`$ COMMAND`, exit code, output) to `log`;
    /// a step that fails is a [`SandboxError::Setup`].
    async fn build_step(
        &self,
        container: &str,
        request: &ExecRequest,
        user: &str,
        log: &mut String,
    ) -> Result<(), SandboxError> {
        let command = request.argv.last().cloned().unwrap_or_default();
        let output = container_exec(&self.docker, container, request, user).await?;
        let text = format!("{}{}", output.stdout, output.stderr);
        let _ = writeln!(log, "$ {command}\n(exit code {})\n{}", output.exit_code, text.trim_end());
        if output.success() {
            Ok(())
        } else {
            Err(SandboxError::Setup { command, exit_code: output.exit_code, output: text })
        }
    }
}

/// The root step installing `packages` from Debian's archive.
fn apt_install(packages: &[String]) -> String {
    format!(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {}",
        packages.iter().map(|package| crate::project::shell_quote(package)).collect::<Vec<_>>().join(" ")
    )
}

/// Bump when the way derived images are built changes.
const DERIVED_RECIPE_VERSION: &str = "derived-image-v4";

impl DockerRuntime {
    /// A project image layered on `parent` (e.g. a project image whose virtualenv already holds the dependencies):
    /// the checkout at `/work/repo` replaced by `files`, the virtualenv kept, `options.setup` run with the network,
    /// a fresh baseline committed. Built unless one with the same content hash exists.
    pub async fn derived_project_image(
        &self,
        parent: &str,
        files: &ProjectFiles,
        options: &ProjectImageOptions,
    ) -> Result<ProjectImage, SandboxError> {
        let started = Instant::now();
        let inspect = self.docker.inspect_image(parent);
        let parent_id =
            match super::answered(ENGINE_CALL_DEADLINE, || format!("inspecting image {parent}"), inspect).await? {
                Ok(inspected) => inspected.id.unwrap_or_default(),
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                    return Err(SandboxError::ImageMissing {
                        image: parent.to_owned(),
                        hint: "build the parent project image first".to_owned(),
                    });
                }
                Err(source) => return Err(docker_error(format!("inspecting {parent}"), source)),
            };
        let hash = content_hash(&options.recipe(DERIVED_RECIPE_VERSION), &parent_id, files, &options.setup);
        let tag = &hash[..16];
        let image = format!("{IMAGE_REPOSITORY}:{tag}");
        if image_exists(&self.docker, &image).await? {
            let setup_log = self.reused_setup_log(&image).await;
            return Ok(ProjectImage { image, reused: true, setup_log, duration: started.elapsed() });
        }
        tracing::info!(%image, parent, files = files.files().len(), "building a derived project image");
        let container = self.start_container(parent, None).await?;
        let built = async {
            let clear = ExecRequest::new(["find", REPO_DIR, "-mindepth", "1", "-delete"], STEP_TIMEOUT);
            let cleared = container_exec(&self.docker, &container, &clear, AGENT_USER).await?;
            if !cleared.success() {
                return Err(SandboxError::Setup {
                    command: clear.argv.join(" "),
                    exit_code: cleared.exit_code,
                    output: format!("{}{}", cleared.stdout, cleared.stderr),
                });
            }
            self.prepare_project_container(&container, files, options).await
        }
        .await;
        let setup_log =
            self.commit_and_remove(&container, built, tag, &hash, COMMENT_DERIVED_IMAGE, &options.labels).await?;
        Ok(ProjectImage { image, reused: false, setup_log, duration: started.elapsed() })
    }
}
