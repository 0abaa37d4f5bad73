//! The run report: `report.json` (every figure) and `report.md` (the same for a person, see [`markdown`]): the
//! issue, the model, the sandbox and the settings, each distinct patch with its votes and test results, the
//! candidates, tokens, cost and time per stage, and the logs.

#[path = "report_markdown.rs"]
mod markdown;
#[path = "report_patches.rs"]
mod patches;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::RunDir;
use agentless_candidate::{CandidateId, Patch};
use agentless_localize::{Issue, Locations};
use agentless_model::StageTotals;
use agentless_repair::{Candidate, CandidateStatus};
use agentless_sandbox::Isolation;
use agentless_syntax::RepoSnapshot;
use agentless_validate::reproduction::Verdict;
use agentless_validate::selection::{SelectionRule, Vote};
use agentless_validate::{ValidationReport, ValidationStrength};
use serde::Serialize;

use crate::RunSettings;
pub use markdown::markdown;
pub use patches::DistinctPatch;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
}

impl StageTime {
    pub fn new(stage: &str, started: Instant) -> Self {
        Self { stage: stage.to_owned(), seconds: started.elapsed().as_secs_f64() }
    }
}

/// One row per candidate, in vote order (the order of their ids).
#[derive(Debug, Clone, Serialize)]
pub struct CandidateRow {
    pub id: CandidateId,
    pub status: CandidateStatus,
    pub detail: Option<String>,
    /// 1-based number of its distinct patch (the `logs/patch-N.log` file).
    pub patch: Option<usize>,
    pub applied: Option<bool>,
    /// Why this candidate has no verdict: the sandbox failed on it twice.
    pub sandbox_error: Option<String>,
    pub regression_failures: Option<usize>,
    pub reproduction: Option<Verdict>,
    pub eligible: bool,
    pub chosen: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub agentless_version: &'static str,
    /// The issue's title: the first line of its text.
    pub title: String,
    /// The model, where candidates were tested and the settings that change results.
    pub settings: RunSettings,
    pub repository: String,
    pub commit: Option<String>,
    pub instance_id: String,
    pub found_files: Vec<String>,
    pub edit_location_samples: usize,
    pub candidates: Vec<CandidateRow>,
    pub test_command: String,
    pub regression_passing: Option<usize>,
    pub regression_excluded: Vec<String>,
    pub reproduction_generated: usize,
    pub reproduction_reproducing: usize,
    pub reproduction_test: Option<String>,
    pub rule: SelectionRule,
    /// Why the chosen patch won, naming what was actually used (not "fewest regressions" when none was run).
    pub selection_reason: String,
    /// How much validation could check: the tests actually run and the original's test health.
    pub validation_strength: ValidationStrength,
    pub min_regressions: Option<usize>,
    /// Votes per distinct normalized patch among the eligible, most votes first.
    pub votes: Vec<Vote>,
    pub chosen_patch: Option<Patch>,
    /// Every distinct normalized patch: the chosen one first, then by votes.
    pub patches: Vec<DistinctPatch>,
    pub stopped: Option<String>,
    /// What the sandboxes isolated (absent when validation did not run).
    pub isolation: Option<Isolation>,
    /// Parts of validation that could not run, with their cause.
    pub degradations: Vec<String>,
    pub usage_by_stage: BTreeMap<String, StageTotals>,
    pub usage_total: StageTotals,
    pub times: Vec<StageTime>,
    pub seconds: f64,
    /// The run's log files, relative to the run directory (`logs/baseline.log`).
    pub logs: Vec<String>,
}

impl Report {
    #[expect(clippy::too_many_arguments, reason = "one call site gathers every artifact of the run")]
    pub fn new(
        snapshot: &RepoSnapshot,
        issue: &Issue,
        settings: RunSettings,
        locations: &Locations,
        candidates: &[Candidate],
        validation: &ValidationReport,
        stopped: Option<String>,
        usage_by_stage: BTreeMap<String, StageTotals>,
        usage_total: StageTotals,
        times: Vec<StageTime>,
        elapsed: Duration,
        logs: Vec<String>,
    ) -> Self {
        let selection = &validation.selection;
        let mut in_vote_order: Vec<&Candidate> = candidates.iter().collect();
        in_vote_order.sort_by_key(|candidate| candidate.id);
        let patches = patches::distinct_patches(candidates, validation);
        let candidates = in_vote_order.into_iter().map(|candidate| candidate_row(candidate, validation)).collect();
        let reproduction = validation.reproduction.as_ref();
        Self {
            agentless_version: env!("CARGO_PKG_VERSION"),
            title: issue_title(issue),
            settings,
            repository: snapshot.name().to_owned(),
            commit: snapshot.commit().map(str::to_owned),
            instance_id: issue.id.clone(),
            found_files: locations.found_files.clone(),
            edit_location_samples: locations.found_edit_locs.len(),
            candidates,
            test_command: validation.test_command.shell.clone(),
            regression_passing: validation.regression.as_ref().map(|plan| plan.passing.len()),
            regression_excluded: validation.regression.as_ref().map(|plan| plan.excluded.clone()).unwrap_or_default(),
            reproduction_generated: reproduction.map_or(0, |plan| plan.tests.len()),
            reproduction_reproducing: reproduction.map_or(0, |plan| {
                plan.tests.iter().filter(|test| test.on_original == Some(Verdict::Reproduced)).count()
            }),
            reproduction_test: reproduction.and_then(|plan| plan.chosen_code()).map(str::to_owned),
            rule: selection.rule,
            selection_reason: validation.selection_reason(RunDir::BASELINE_LOG),
            validation_strength: validation.strength(),
            min_regressions: selection.min_regressions,
            votes: selection.votes.clone(),
            chosen_patch: validation.chosen_patch().cloned(),
            patches,
            stopped,
            isolation: validation.isolation.clone(),
            degradations: validation.degradations.clone(),
            usage_by_stage,
            usage_total,
            times,
            seconds: elapsed.as_secs_f64(),
            logs,
        }
    }
}

/// A candidate's row: what repair made of it, and what validation found for its patch (joined by its id).
fn candidate_row(candidate: &Candidate, validation: &ValidationReport) -> CandidateRow {
    let selection = &validation.selection;
    let numbered = validation.result_of(candidate.id);
    let result = numbered.map(|(_, result)| result);
    CandidateRow {
        id: candidate.id,
        status: candidate.status,
        detail: candidate.detail.clone(),
        patch: numbered.map(|(number, _)| number + 1),
        applied: result.map(|result| result.applied),
        sandbox_error: result.and_then(|result| result.error.clone()),
        regression_failures: result.and_then(|result| result.regression.as_ref()).map(|r| r.failing.len()),
        reproduction: result.and_then(|result| result.reproduction),
        eligible: selection.eligible.contains(&candidate.id),
        chosen: selection.chosen == Some(candidate.id),
    }
}

/// One line for stderr at the end of a run.
pub fn one_line(report: &Report) -> String {
    let applied = report.candidates.iter().filter(|row| row.status == CandidateStatus::Ok).count();
    match report.candidates.iter().find(|row| row.chosen) {
        Some(row) => format!(
            "chose candidate {} of {} ({} applied): {} with {} vote(s)",
            row.id,
            report.candidates.len(),
            applied,
            report.selection_reason,
            report.votes.first().map_or(0, |vote| vote.count)
        ),
        None => format!("no patch chosen: {} candidate(s), {} applied", report.candidates.len(), applied),
    }
}

/// The issue's title: its first non-blank line without a Markdown heading's `#`s (the instance id when there is
/// none).
fn issue_title(issue: &Issue) -> String {
    issue
        .text
        .lines()
        .map(|line| line.trim().trim_start_matches('#').trim())
        .find(|line| !line.is_empty())
        .map_or_else(|| issue.id.clone(), str::to_owned)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
