//! `agentless sandbox`: the Docker images candidates are tested in: building the base image, listing what this tool
//! left in the engine and pruning it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use agentless_sandbox::docker::{
    ContainerRecord, DockerRuntime, ImageOutcome, ImageRecord, Inventory, PrunePlan, PruneReport, PruneRules,
    UseSource, base_image_exists, build_base_image, inventory, prune,
};
use anyhow::{Context, Result};
use bollard::Docker;

use crate::ExitStatus;
use crate::args::{SandboxArgs, SandboxCommand};
use crate::config::default_cache_dir;
use crate::settings::{image_use_folder, python_version};

pub async fn run(args: SandboxArgs) -> Result<ExitStatus> {
    match args.command {
        SandboxCommand::BuildImage { python, cache_dir, force, from } => {
            let version = python_version(python);
            let docker = connect().await?;
            if !force && base_image_exists(&docker, version).await? {
                writeln!(std::io::stdout(), "{} exists (--force rebuilds it)", version.image())?;
                return Ok(ExitStatus::Success);
            }
            if let Some(source) = from {
                let runtime = DockerRuntime::connect(DockerRuntime::new_run_id()).await?;
                let build = runtime.base_image_from(version, &source).await.with_context(|| {
                    format!(
                        "cannot make {} from {source}; `agentless sandbox build-image --python {}` (without \
                         --from) builds it from Debian's archive instead",
                        version.image(),
                        version.version()
                    )
                })?;
                writeln!(
                    std::io::stdout(),
                    "built {} from {}{} in {:.1} s",
                    build.image,
                    build.source,
                    if build.source_was_local { " (already in the engine)" } else { "" },
                    build.duration.as_secs_f64()
                )?;
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
        SandboxCommand::List { json, cache_dir } => {
            let docker = connect().await?;
            let image_use = image_use_folder(&cache_dir.unwrap_or_else(default_cache_dir));
            let listed = inventory(&docker, Some(&image_use)).await?;
            if json {
                writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&listed)?)?;
            } else {
                write!(std::io::stdout(), "{}", render_inventory(&listed, now()))?;
            }
            Ok(ExitStatus::Success)
        }
        SandboxCommand::Prune { older_than, keep_environments, all, repository, dry_run, json, cache_dir } => {
            let docker = connect().await?;
            let image_use = image_use_folder(&cache_dir.unwrap_or_else(default_cache_dir));
            let listed = inventory(&docker, Some(&image_use)).await?;
            let rules = PruneRules { older_than, keep_environments, all, repository };
            let plan = PrunePlan::new(&listed, &rules, now());
            if dry_run {
                if json {
                    writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&plan)?)?;
                } else {
                    write!(std::io::stdout(), "{}", render_plan(&plan))?;
                }
                return Ok(ExitStatus::Success);
            }
            let report = prune(&docker, &plan, Some(&image_use)).await;
            if json {
                writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&report)?)?;
            } else {
                write!(std::io::stdout(), "{}", render_report(&report))?;
            }
            Ok(if report.failed() { ExitStatus::Failure } else { ExitStatus::Success })
        }
    }
}

async fn connect() -> Result<Docker> {
    agentless_sandbox::docker::local_engine()
        .context("no Docker engine is reachable")?
        .negotiate_version()
        .await
        .context("no Docker engine is reachable")
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(0))
}

/// Two tables (images, then containers) and the totals.
fn render_inventory(listed: &Inventory, now: i64) -> String {
    let mut out = String::new();
    let mut rows =
        vec![["KIND", "REPOSITORY", "VERSION", "TAG", "SIZE", "OWN", "CREATED", "LAST USED"].map(String::from)];
    rows.extend(listed.images.iter().map(|image| {
        [
            kind(image),
            image.repository.clone().unwrap_or_else(|| "-".to_owned()),
            image.version.clone().unwrap_or_else(|| "-".to_owned()),
            image.name(),
            bytes(image.size),
            bytes(image.own_size),
            age(now, image.created),
            match image.last_used.source {
                UseSource::Container => age(now, image.last_used.at),
                UseSource::Created => format!("{} (built)", age(now, image.last_used.at)),
            },
        ]
    }));
    out.push_str(&table(&rows));
    if listed.images.iter().any(|image| !image.kind_labelled) {
        out.push_str("? kind inferred: built before agentless labelled its images' kinds\n");
    }
    if !listed.containers.is_empty() {
        out.push('\n');
        let mut rows = vec![["CONTAINER", "IMAGE", "STATE", "RUN", "OWNER"].map(String::from)];
        rows.extend(listed.containers.iter().map(|container| {
            [
                container.name.clone(),
                container.image.clone(),
                container.state.clone(),
                container.run_id.clone(),
                owner(container),
            ]
        }));
        out.push_str(&table(&rows));
    }
    let orphaned = listed.containers.iter().filter(|container| !container.owner_alive).count();
    let _ = writeln!(
        out,
        "\n{} images, {} (each layer counted once); {} containers, {orphaned} of runs that are gone",
        listed.images.len(),
        bytes(listed.total_size()),
        listed.containers.len(),
    );
    out
}

/// What a prune would do.
fn render_plan(plan: &PrunePlan) -> String {
    let mut out = String::new();
    for container in &plan.containers {
        let _ = writeln!(out, "would remove container {} ({})", container.name, owner(container));
    }
    for image in &plan.images {
        let _ = writeln!(out, "would remove {}: {}", describe(image), bytes(image.own_size));
    }
    for skipped in &plan.skipped {
        let _ = writeln!(out, "would skip {}: {}", describe(&skipped.image), skipped.reason);
    }
    let _ = writeln!(
        out,
        "would remove {} containers and {} images, reclaiming {}; {} skipped",
        plan.containers.len(),
        plan.images.len(),
        bytes(plan.image_bytes()),
        plan.skipped.len()
    );
    out
}

/// What a prune did.
fn render_report(report: &PruneReport) -> String {
    let mut out = String::new();
    for container in &report.removed_containers {
        let _ = writeln!(out, "removed container {} ({})", container.name, owner(container));
    }
    for (container, error) in &report.failed_containers {
        let _ = writeln!(out, "FAILED to remove container {}: {error}", container.name);
    }
    let (mut removed, mut skipped, mut failed) = (0, 0, 0);
    for outcome in &report.images {
        match outcome {
            ImageOutcome::Removed { image } => {
                removed += 1;
                let _ = writeln!(out, "removed {}: {}", describe(image), bytes(image.own_size));
            }
            ImageOutcome::Skipped { image, reason } => {
                skipped += 1;
                let _ = writeln!(out, "skipped {}: {reason}", describe(image));
            }
            ImageOutcome::Failed { image, error } => {
                failed += 1;
                let _ = writeln!(out, "FAILED to remove {}: {error}", describe(image));
            }
        }
    }
    let _ = writeln!(
        out,
        "reclaimed {} (the engine's sizes of the removed images' own layers): {} containers and {removed} images \
         removed, {skipped} skipped, {} failed",
        bytes(report.reclaimed_bytes()),
        report.removed_containers.len(),
        failed + report.failed_containers.len()
    );
    out
}

/// `agentless/project:abc (instance, django/django 3.0)`.
fn describe(image: &ImageRecord) -> String {
    let held = [image.repository.as_deref(), image.version.as_deref()].into_iter().flatten().collect::<Vec<_>>();
    if held.is_empty() {
        format!("{} ({})", image.name(), kind(image))
    } else {
        format!("{} ({}, {})", image.name(), kind(image), held.join(" "))
    }
}

fn kind(image: &ImageRecord) -> String {
    format!("{}{}", image.kind.label(), if image.kind_labelled { "" } else { "?" })
}

fn owner(container: &ContainerRecord) -> String {
    match (container.owner_pid, container.owner_alive) {
        (Some(pid), true) => format!("pid {pid} running"),
        (Some(pid), false) => format!("pid {pid} gone"),
        (None, _) => "owner unknown".to_owned(),
    }
}

/// Columns padded to their widest cell, two spaces apart.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> =
        (0..N).map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// Decimal units, as `docker images` shows sizes.
fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if count < 1000 {
        return format!("{count} B");
    }
    let mut value = count as f64;
    let mut unit = "B";
    for next in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// `3d ago`, `5h ago`, `12m ago`, `just now`.
fn age(now: i64, then: i64) -> String {
    let seconds = now.saturating_sub(then).max(0);
    match seconds {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86_400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

#[cfg(test)]
#[path = "sandbox_tests.rs"]
mod tests;
