//! The run report: `report.json` (every figure) and `report.md` (the same for a person: the chosen patch, the vote,
//! the tests per candidate, tokens, cost and time per stage).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::RunDir;
use agentless_candidate::{CandidateId, Patch};
use agentless_localize::{Issue, Locations};
use agentless_model::StageTotals;
use agentless_repair::Candidate;
use agentless_sandbox::Isolation;
use agentless_syntax::RepoSnapshot;
use agentless_validate::reproduction::Verdict;
use agentless_validate::selection::{SelectionRule, Vote};
use agentless_validate::{ValidationReport, ValidationStrength};
use serde::Serialize;

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
    pub status: String,
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
    pub stopped: Option<String>,
    /// What the sandboxes isolated (absent when validation did not run).
    pub isolation: Option<Isolation>,
    /// Parts of validation that could not run, with their cause.
    pub degradations: Vec<String>,
    pub usage_by_stage: BTreeMap<String, StageTotals>,
    pub usage_total: StageTotals,
    pub times: Vec<StageTime>,
    pub seconds: f64,
}

impl Report {
    #[expect(clippy::too_many_arguments, reason = "one call site gathers every artifact of the run")]
    pub fn new(
        snapshot: &RepoSnapshot,
        issue: &Issue,
        locations: &Locations,
        candidates: &[Candidate],
        validation: &ValidationReport,
        stopped: Option<String>,
        usage_by_stage: BTreeMap<String, StageTotals>,
        usage_total: StageTotals,
        times: Vec<StageTime>,
        elapsed: Duration,
    ) -> Self {
        let selection = &validation.selection;
        let mut in_vote_order: Vec<&Candidate> = candidates.iter().collect();
        in_vote_order.sort_by_key(|candidate| candidate.id);
        let candidates = in_vote_order.into_iter().map(|candidate| candidate_row(candidate, validation)).collect();
        let reproduction = validation.reproduction.as_ref();
        Self {
            agentless_version: env!("CARGO_PKG_VERSION"),
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
            stopped,
            isolation: validation.isolation.clone(),
            degradations: validation.degradations.clone(),
            usage_by_stage,
            usage_total,
            times,
            seconds: elapsed.as_secs_f64(),
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
        status: candidate.status.as_str().to_owned(),
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
    let applied = report.candidates.iter().filter(|row| row.status == "ok").count();
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

fn option_text<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_owned(), |value| value.to_string())
}

/// The Markdown report.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# agentless run: {}\n", report.instance_id);
    let commit = report.commit.as_deref().map(|commit| format!(" @ `{}`", &commit[..commit.len().min(12)]));
    let _ = writeln!(md, "Repository `{}`{}.\n", report.repository, commit.unwrap_or_default());
    let _ = writeln!(md, "**Result:** {}.\n", one_line(report));
    if let Some(reason) = &report.stopped {
        let _ = writeln!(md, "**Stopped early:** {reason}\n");
    }
    if let Some(patch) = &report.chosen_patch {
        let _ = writeln!(md, "## Chosen patch\n\n```diff\n{patch}```\n");
    }
    let _ = writeln!(md, "## Localization\n");
    let _ = writeln!(
        md,
        "Files: {}.\n",
        report.found_files.iter().map(|file| format!("`{file}`")).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(md, "Edit-location samples: {}.\n", report.edit_location_samples);
    let _ = writeln!(md, "## Tests\n");
    if let Some(isolation) = &report.isolation {
        let _ = writeln!(md, "Sandbox: {isolation}.\n");
    }
    if let Some(health) = &report.validation_strength.baseline
        && let Some(problem) = &health.problem
    {
        let _ = writeln!(
            md,
            "**Baseline:** {problem} (exit {}, {} passed, {} failed); its output is in `{}`.\n",
            health.exit_code,
            health.tests_passed,
            health.tests_failed,
            RunDir::BASELINE_LOG
        );
    }
    for degradation in &report.degradations {
        let _ = writeln!(md, "**Not checked:** {degradation}\n");
    }
    let _ = writeln!(md, "Test command: `{}`.\n", report.test_command);
    match report.regression_passing {
        Some(passing) => {
            let _ = writeln!(
                md,
                "Regression tests: {passing} pass on the original; {} excluded as tests the fix may change{}.\n",
                report.regression_excluded.len(),
                if report.regression_excluded.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        report.regression_excluded.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                    )
                }
            );
        }
        None => {
            let _ = writeln!(md, "Regression tests: not run.\n");
        }
    }
    let _ = writeln!(
        md,
        "Reproduction tests: {} generated, {} reproduce the issue on the original{}.\n",
        report.reproduction_generated,
        report.reproduction_reproducing,
        if report.reproduction_test.is_some() { "; the majority one was run on every candidate" } else { "" }
    );
    if let Some(test) = &report.reproduction_test {
        let _ = writeln!(md, "<details><summary>Reproduction test</summary>\n\n```python\n{test}```\n</details>\n");
    }
    let _ = writeln!(md, "## Candidates\n");
    let _ = writeln!(md, "Candidates are named `L<location sample>.S<sample>`, from 0; `S0` is the greedy answer.\n");
    let _ = writeln!(md, "| candidate | status | patch | applied | regressions | reproduction | vote |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for row in &report.candidates {
        let vote = if row.chosen {
            "**chosen**"
        } else if row.eligible {
            "eligible"
        } else {
            ""
        };
        let status = match (&row.detail, &row.sandbox_error) {
            (_, Some(error)) => format!("sandbox error ({})", error.replace('|', "\\|").lines().next().unwrap_or("")),
            (Some(detail), None) if row.status != "ok" => {
                format!("{} ({})", row.status, detail.replace('|', "\\|").lines().next().unwrap_or(""))
            }
            _ => row.status.clone(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.id,
            status,
            option_text(row.patch),
            option_text(row.applied.map(|applied| if applied { "yes" } else { "no" })),
            option_text(row.regression_failures),
            option_text(row.reproduction.map(|verdict| format!("{verdict:?}"))),
            vote
        );
    }
    let _ = writeln!(
        md,
        "\nVotes among the eligible (count × first candidate): {}.\n",
        report.votes.iter().map(|vote| format!("{}×{}", vote.count, vote.first)).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(md, "## Cost and time\n");
    let _ = writeln!(md, "| stage | calls | cached | prompt tokens | completion tokens | cost (USD) |");
    let _ = writeln!(md, "|---|---|---|---|---|---|");
    for (stage, totals) in
        report.usage_by_stage.iter().chain(std::iter::once((&"total".to_owned(), &report.usage_total)))
    {
        let _ = writeln!(
            md,
            "| {stage} | {} | {} | {} | {} | {:.4} |",
            totals.calls,
            totals.cached_calls,
            totals.usage.prompt_tokens,
            totals.usage.completion_tokens,
            totals.cost_usd
        );
    }
    let _ = writeln!(md);
    let times: Vec<String> = report.times.iter().map(|time| format!("{} {:.1} s", time.stage, time.seconds)).collect();
    let _ = writeln!(md, "Time: {} (total {:.1} s).", times.join(", "), report.seconds);
    md
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
