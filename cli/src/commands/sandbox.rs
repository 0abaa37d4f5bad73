//! `agentless sandbox`: the Docker images candidates are tested in.

use std::io::Write as _;

use agentless_sandbox::docker::{base_image_exists, build_base_image};
use anyhow::{Context, Result};

use crate::ExitStatus;
use crate::args::{SandboxArgs, SandboxCommand};
use crate::config::default_cache_dir;
use crate::settings::python_version;

pub async fn run(args: SandboxArgs) -> Result<ExitStatus> {
    match args.command {
        SandboxCommand::BuildImage { python, cache_dir, force } => {
            let version = python_version(python);
            let docker = bollard::Docker::connect_with_local_defaults()
                .context("no Docker engine is reachable")?
                .negotiate_version()
                .await
                .context("no Docker engine is reachable")?;
            if !force && base_image_exists(&docker, version).await? {
                writeln!(std::io::stdout(), "{} exists (--force rebuilds it)", version.image())?;
                return Ok(ExitStatus::Success);
            }
            let cache = cache_dir.unwrap_or_else(default_cache_dir).join("rootfs");
            let build = build_base_image(&docker, version, &cache).await?;
            writeln!(
                std::io::stdout(),
                "built {} (debootstrap {:.1} s{}, import {:.1} s)",
                build.image,
                build.debootstrap.as_secs_f64(),
                if build.rootfs_cached { ", cached root filesystem" } else { "" },
                build.import.as_secs_f64()
            )?;
            Ok(ExitStatus::Success)
        }
    }
}
