//! A base image `agentless/python:X.Y` made from a registry's Python image (`python:X.Y-slim`) instead of a
//! Debian root filesystem: the same layout (git, a compiler, `/usr/bin/python3`, the `agentless` user, `/work`),
//! minutes faster where a registry is reachable (GitHub's runners), and no root or debootstrap on the host.

use std::time::{Duration, Instant};

use bollard::query_parameters::{CommitContainerOptionsBuilder, CreateImageOptionsBuilder};
use futures::TryStreamExt;

use super::base_image::image_exists;
use super::{AGENT_UID, AGENT_USER, DockerRuntime, ImageKind, LABEL_BASE, LABEL_KIND, LABEL_VERSION, docker_error};
use super::{PythonVersion, remove_container};
use crate::{ExecRequest, SandboxError};

/// What the Debian base image has and a registry's slim Python image may lack, installed as root with the build's
/// network; then the checks that the image has the Python asked for.
const LAYOUT_SCRIPT: &str = r#"set -e
export DEBIAN_FRONTEND=noninteractive
if ! command -v git >/dev/null || ! command -v cc >/dev/null || ! command -v patch >/dev/null || ! command -v ps >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends git ca-certificates build-essential pkg-config libffi-dev patch procps
  rm -rf /var/lib/apt/lists/*
fi
[ -e /usr/bin/python3 ] || ln -s "$(command -v python3)" /usr/bin/python3
id -u agentless >/dev/null 2>&1 || useradd --create-home --uid 1000 --user-group --shell /bin/bash agentless
mkdir -p /work && chown 1000:1000 /work
/usr/bin/python3 -c 'import ensurepip, venv, sys; print("python %d.%d" % sys.version_info[:2])'
"#;
const LAYOUT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
const LAYOUT_OUTPUT_CAP: usize = 64 * 1024;

/// What [`DockerRuntime::base_image_from`] did.
#[derive(Debug, Clone)]
pub struct RegistryBaseBuild {
    pub image: String,
    pub source: String,
    /// The source image was already in the engine (no pull).
    pub source_was_local: bool,
    pub duration: Duration,
}

impl DockerRuntime {
    /// Make `agentless/python:X.Y` for `version` from `source` (e.g. `python:3.11-slim`), pulled unless the engine
    /// has it: the missing tools installed, the `agentless` user and `/work` added, and the image's Python checked
    /// to be `version`. Replaces an existing `agentless/python:X.Y`.
    pub async fn base_image_from(
        &self,
        version: PythonVersion,
        source: &str,
    ) -> Result<RegistryBaseBuild, SandboxError> {
        self.layer_base_image(version, source, &version.image()).await
    }

    /// [`Self::base_image_from`], tagged `target` (tests use a scratch tag).
    pub async fn layer_base_image(
        &self,
        version: PythonVersion,
        source: &str,
        target: &str,
    ) -> Result<RegistryBaseBuild, SandboxError> {
        let started = Instant::now();
        let docker = self.docker();
        let source_was_local = image_exists(docker, source).await?;
        if !source_was_local {
            tracing::info!(source, "pulling the registry image");
            let options = CreateImageOptionsBuilder::default().from_image(source).build();
            let pull = docker.create_image(Some(options), None, None).try_collect::<Vec<_>>();
            // The client's timeout covers the answer's headers only; the pull's progress stream is bounded here.
            super::answered(super::ENGINE_REQUEST_TIMEOUT, || format!("pulling {source}"), pull)
                .await?
                .map_err(|error| docker_error(format!("pulling {source}"), error))?;
        }
        let container = self.start_container(source, None).await?;
        let built = self.lay_out(&container, version).await;
        let committed = match built {
            Ok(()) => self.commit_base(&container, version, target).await,
            Err(error) => Err(error),
        };
        remove_container(docker, &container).await;
        committed?;
        Ok(RegistryBaseBuild {
            image: target.to_owned(),
            source: source.to_owned(),
            source_was_local,
            duration: started.elapsed(),
        })
    }

    async fn lay_out(&self, container: &str, version: PythonVersion) -> Result<(), SandboxError> {
        let request = ExecRequest {
            output_cap: LAYOUT_OUTPUT_CAP,
            cwd: Some("/".to_owned()),
            ..ExecRequest::new(["sh", "-c", LAYOUT_SCRIPT], LAYOUT_TIMEOUT)
        };
        let output = super::container_exec(self.docker(), container, &request, "root").await?;
        let text = format!("{}{}", output.stdout, output.stderr);
        if !output.success() {
            return Err(SandboxError::Setup {
                command: "lay out the base image (apt-get install git build-essential ..., useradd agentless)"
                    .to_owned(),
                exit_code: output.exit_code,
                output: text,
            });
        }
        let found = text.lines().rev().find_map(|line| line.strip_prefix("python ")).unwrap_or("none").trim();
        if found != version.version() {
            return Err(SandboxError::BaseImagePrerequisite {
                requirement: format!("an image with Python {} (this one has {found})", version.version()),
            });
        }
        Ok(())
    }

    async fn commit_base(&self, container: &str, version: PythonVersion, target: &str) -> Result<(), SandboxError> {
        let (repo, tag) = target.rsplit_once(':').unwrap_or((target, "latest"));
        let changes = [
            "ENV LANG=C.UTF-8".to_owned(),
            format!("LABEL {LABEL_BASE}={}", version.version()),
            format!("LABEL {LABEL_KIND}={}", ImageKind::Base.label()),
            format!("LABEL {LABEL_VERSION}={}", version.version()),
            "WORKDIR /".to_owned(),
            "USER root".to_owned(),
            "CMD [\"sleep\", \"infinity\"]".to_owned(),
        ]
        .join("\n");
        let options = CommitContainerOptionsBuilder::default()
            .container(container)
            .repo(repo)
            .tag(tag)
            .comment(&format!("agentless base image, {AGENT_USER} uid {AGENT_UID}"))
            .changes(&changes)
            .pause(true)
            .build();
        self.docker()
            .commit_container(
                options,
                bollard::models::ContainerConfig {
                    labels: Some(super::cleared_run_labels().collect()),
                    ..bollard::models::ContainerConfig::default()
                },
            )
            .await
            .map_err(|source| docker_error(format!("committing {target}"), source))?;
        Ok(())
    }
}
