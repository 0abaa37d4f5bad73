//! `agentless repair`: sample candidate patches for each location sample and write `candidates.jsonl`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use agentless_candidate::Patch;
use agentless_localize::Locations;
use agentless_repair::{Candidate, CandidateStatus, EditRules, RepairOptions, repair};
use agentless_syntax::RepoSnapshot;
use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{GlobalArgs, RepairArgs};
use crate::commands::localize::read_issue;
use crate::config::{FileConfig, RepairConfig};
use crate::model::{self, usage_line};

pub async fn run(args: RepairArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&args.repo.repo))?;
    let issue = read_issue(&args.issue, &snapshot)?;
    let locations: Locations = serde_json::from_str(&fs_err::read_to_string(&args.locations)?).with_context(|| {
        format!("`{}` is not a locations.json written by `agentless localize`", args.locations.display())
    })?;
    let setup = model::build(&args.model, &config)?;
    let options = repair_options(args.samples, args.temperature, &config.repair);
    fs_err::create_dir_all(&args.out)?;

    progress.set_message("repair");
    let output = repair(&setup.client, &snapshot, &issue, &locations, &options)
        .await
        .with_context(|| format!("repair of `{}` failed", issue.id))?;
    let path = args.out.join("candidates.jsonl");
    write_jsonl(&path, &output.candidates)?;
    progress.finish_and_clear();

    let mut stdout = std::io::stdout().lock();
    print_table(&mut stdout, &output.candidates)?;
    if let Some(reason) = &output.stopped {
        writeln!(stdout, "stopped early: {reason}")?;
    }
    writeln!(stdout, "model: {}", usage_line(&setup.ledger.total()))?;
    writeln!(stdout, "wrote {}", path.display())?;
    let any_ok = output.candidates.iter().any(|candidate| candidate.status == CandidateStatus::Ok);
    Ok(if any_ok { ExitStatus::Success } else { ExitStatus::Failure })
}

pub fn repair_options(samples: Option<u32>, temperature: Option<f32>, config: &RepairConfig) -> RepairOptions {
    let defaults = RepairOptions::default();
    RepairOptions {
        samples: samples.or(config.samples).unwrap_or(defaults.samples),
        temperature: temperature.or(config.temperature).unwrap_or(defaults.temperature),
        edits: EditRules {
            unmatched: config.unmatched_edits.unwrap_or(defaults.edits.unmatched),
            syntax: config.syntax_gate.unwrap_or(defaults.edits.syntax),
        },
        ..defaults
    }
}

/// Write one JSON object per line, atomically.
pub fn write_jsonl<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut text = String::new();
    for row in rows {
        text.push_str(&serde_json::to_string(row)?);
        text.push('\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    fs_err::write(&tmp, text)?;
    fs_err::rename(&tmp, path)?;
    Ok(())
}

/// Read what [`write_jsonl`] wrote.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = fs_err::read_to_string(path)?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(index, line)| {
            serde_json::from_str(line).with_context(|| format!("line {} of `{}`", index + 1, path.display()))
        })
        .collect()
}

/// The per-location-sample table: how many samples, and what became of them.
pub fn print_table(out: &mut impl Write, candidates: &[Candidate]) -> Result<()> {
    let mut samples: Vec<usize> = candidates.iter().map(|candidate| candidate.id.location_sample).collect();
    samples.sort_unstable();
    samples.dedup();
    writeln!(
        out,
        "{:<8} {:>7} {:>7} {:>6} {:>8} {:>9} {:>8} {:>7} {:>7} {:>10} {:>8}",
        "location",
        "samples",
        "applied",
        "empty",
        "no edits",
        "not found",
        "outside",
        "escapes",
        "syntax",
        "whitespace",
        "distinct"
    )?;
    let mut row = |label: String, rows: Vec<&Candidate>| -> Result<()> {
        let count = |status: CandidateStatus| rows.iter().filter(|candidate| candidate.status == status).count();
        let distinct: BTreeSet<&Patch> = rows
            .iter()
            .filter(|candidate| candidate.status == CandidateStatus::Ok)
            .filter_map(|candidate| candidate.normalized_patch.as_ref())
            .collect();
        writeln!(
            out,
            "{:<8} {:>7} {:>7} {:>6} {:>8} {:>9} {:>8} {:>7} {:>7} {:>10} {:>8}",
            label,
            rows.len(),
            count(CandidateStatus::Ok),
            count(CandidateStatus::Empty),
            count(CandidateStatus::NoEdits),
            count(CandidateStatus::SearchNotFound),
            count(CandidateStatus::OutsideContext),
            count(CandidateStatus::EscapesRepo),
            count(CandidateStatus::SyntaxError),
            count(CandidateStatus::WhitespaceOnly),
            distinct.len()
        )?;
        Ok(())
    };
    for sample in &samples {
        row(
            format!("L{sample}"),
            candidates.iter().filter(|candidate| candidate.id.location_sample == *sample).collect(),
        )?;
    }
    row("total".to_owned(), candidates.iter().collect())?;
    Ok(())
}
