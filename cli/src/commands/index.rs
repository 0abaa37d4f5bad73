//! `agentless index`: parse every Python file of a snapshot and print counts or the Agentless JSON structure.

use std::io::Write;

use agentless_syntax::{IndexOptions, RepoIndex, RepoSnapshot};
use anyhow::{Context, Result};

use crate::ExitStatus;
use crate::args::{IndexArgs, OutputFormat};
use crate::config::default_cache_dir;

pub async fn run(args: IndexArgs) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let cache_dir = (!args.no_cache).then(|| args.cache_dir.clone().unwrap_or_else(default_cache_dir).join("index"));
    let options = IndexOptions {
        cache_dir,
        skeletons: args.skeletons || args.format == OutputFormat::Text,
        keep_text: args.format == OutputFormat::Json,
    };
    let index = tokio::task::block_in_place(|| RepoIndex::build(&snapshot, &options))
        .with_context(|| format!("cannot index `{}`", args.repo.repo.display()))?;
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut stdout, &index.to_agentless_json(&snapshot))?;
            writeln!(stdout)?;
        }
        OutputFormat::Text => {
            let stats = &index.stats;
            let source = match snapshot.commit() {
                Some(commit) => format!("{} @ {}", snapshot.name(), &commit[..commit.len().min(12)]),
                None => snapshot.name().to_owned(),
            };
            writeln!(stdout, "repository    {source}")?;
            writeln!(stdout, "files         {}", stats.files)?;
            writeln!(stdout, "lines         {}", stats.lines)?;
            writeln!(stdout, "classes       {}", stats.classes)?;
            writeln!(stdout, "methods       {}", stats.methods)?;
            writeln!(stdout, "functions     {}", stats.functions)?;
            writeln!(stdout, "parse errors  {}", stats.parse_errors)?;
            writeln!(stdout, "cached        {}", stats.cached_files)?;
            writeln!(stdout, "seconds       {:.3}", stats.seconds)?;
            if let Some(peak) = peak_memory_mb() {
                writeln!(stdout, "peak memory   {peak:.0} MB")?;
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// The process's peak resident memory (`VmHWM` in `/proc/self/status`), where the platform has it.
fn peak_memory_mb() -> Option<f64> {
    let status = fs_err::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes / 1024.0)
}
