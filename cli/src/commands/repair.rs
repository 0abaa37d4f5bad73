//! `agentless repair`: sample candidate patches for each location sample and write `candidates.jsonl`.

use std::collections::BTreeSet;
use std::io::Write;

use agentless_candidate::Patch;
use agentless_localize::Locations;
use agentless_pipeline::RunDir;
use agentless_repair::{Candidate, CandidateStatus, repair};
use agentless_syntax::RepoSnapshot;
use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::ExitStatus;
use crate::args::{GlobalArgs, RepairArgs};
use crate::commands::localize::read_issue;
use crate::config::FileConfig;
use crate::model::usage_line;
use crate::settings::{model_recipe, repair_options};

pub async fn run(args: RepairArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let snapshot = RepoSnapshot::open(&args.repo.repo, args.repo.rev.as_deref())?;
    let (config, _) = FileConfig::load(global.config.as_deref(), Some(&args.repo.repo))?;
    let issue = read_issue(&args.issue, &snapshot)?;
    let locations: Locations = serde_json::from_str(&fs_err::read_to_string(&args.locations)?).with_context(|| {
        format!("`{}` is not a locations.json written by `agentless localize`", args.locations.display())
    })?;
    let setup = model_recipe(&args.model, &config)?.build()?;
    let options = repair_options(args.samples, args.temperature, &config);
    let out = RunDir::new(&args.out, false);
    fs_err::create_dir_all(&args.out)?;

    progress.set_message("repair");
    let output = repair(&setup.client, &snapshot, &issue, &locations, &options)
        .await
        .with_context(|| format!("repair of `{}` failed", issue.id))?;
    out.write_lines(RunDir::CANDIDATES, &output.candidates)?;
    let path = out.path(RunDir::CANDIDATES);
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
