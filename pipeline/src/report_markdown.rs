//! `report.md`: the report for a maintainer, in words (never a type's name), with links to the run's logs.

use std::fmt::Write as _;

use agentless_candidate::CandidateId;
use agentless_repair::CandidateStatus;
use agentless_validate::reproduction::Verdict;

use super::{DistinctPatch, Report, one_line};
use crate::{RunDir, RunSettings};

/// Distinct patches whose diff is shown; the others are listed with their results only.
const DIFFS_SHOWN: usize = 3;
/// Failing regression tests named per patch; the rest are counted (every name is in `report.json`).
const FAILING_TESTS_NAMED: usize = 10;
/// Different details named per reason a candidate was thrown away.
const DETAILS_NAMED: usize = 3;

/// The Markdown report.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", report.title);
    let commit = report.commit.as_deref().map(|commit| format!(" @ `{}`", &commit[..commit.len().min(12)]));
    let _ = writeln!(
        md,
        "agentless {} on `{}`{}, issue `{}`.\n",
        report.agentless_version,
        report.repository,
        commit.unwrap_or_default(),
        report.instance_id
    );
    let _ = writeln!(md, "**Result:** {}.\n", one_line(report));
    if let Some(reason) = &report.stopped {
        let _ = writeln!(md, "**Stopped early:** {reason}\n");
    }
    settings(&mut md, report);
    patches(&mut md, report);
    tests(&mut md, report);
    candidates(&mut md, report);
    let _ = writeln!(md, "## Localization\n");
    let files = if report.found_files.is_empty() { "none".to_owned() } else { code_list(&report.found_files) };
    let _ = writeln!(md, "Files: {files}.\n");
    let _ = writeln!(md, "Edit-location samples: {}.\n", report.edit_location_samples);
    cost_and_time(&mut md, report);
    logs(&mut md, report);
    md
}

fn settings(md: &mut String, report: &Report) {
    let RunSettings {
        model,
        sandbox,
        sandbox_workers,
        setup,
        top_n_files,
        context_window,
        retrieval,
        edit_location_samples,
        edit_location_temperature,
        repair_samples,
        repair_temperature,
        repair_max_tokens,
        regression_tests,
        reproduction_tests,
        reproduction_temperature,
        test_timeout_seconds,
        reproduction_timeout_seconds,
    } = &report.settings;
    let _ = writeln!(md, "## Settings\n");
    let _ = writeln!(md, "- Model: `{model}`");
    let _ = writeln!(
        md,
        "- Sandbox: {sandbox}; {}; test dependencies installed by `{setup}`",
        count(*sandbox_workers, "worker", "workers")
    );
    if let Some(isolation) = &report.isolation {
        let _ = writeln!(md, "- Isolation: {isolation}");
    }
    let _ = writeln!(
        md,
        "- Localization: top {top_n_files} files, {edit_location_samples} edit-location samples at temperature \
         {edit_location_temperature}, {context_window} lines of context, retrieval {retrieval}"
    );
    let _ = writeln!(
        md,
        "- Repair: {repair_samples} answers per location sample (the first greedy, the others at temperature \
         {repair_temperature}), at most {repair_max_tokens} tokens each"
    );
    let regression = if *regression_tests { "regression tests on" } else { "regression tests off" };
    let reproduction = match reproduction_tests {
        0 => "no reproduction tests".to_owned(),
        count => format!("{count} reproduction tests at temperature {reproduction_temperature}"),
    };
    let _ = writeln!(
        md,
        "- Validation: {regression}; {reproduction}; test timeout {test_timeout_seconds} s, reproduction timeout \
         {reproduction_timeout_seconds} s; test command `{}`\n",
        report.test_command
    );
}

/// One section per distinct patch, the chosen one first; the first [`DIFFS_SHOWN`] with their diff.
fn patches(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Patches\n");
    let with_patch: usize = report.patches.iter().map(|patch| patch.candidates.len()).sum();
    if report.patches.is_empty() {
        let _ = writeln!(md, "No candidate produced a patch.\n");
        return;
    }
    let _ = writeln!(
        md,
        "{} from the {} with a patch (candidates whose patches normalize to the same are one patch), the chosen \
         one first, then by votes.\n",
        count(report.patches.len(), "distinct patch", "distinct patches"),
        count(with_patch, "candidate", "candidates"),
    );
    for (index, patch) in report.patches.iter().enumerate() {
        let standing = match (patch.chosen, patch.votes) {
            (true, votes) => format!(" (chosen): {}", count(votes, "vote", "votes")),
            (false, 0) => ": not in the vote".to_owned(),
            (false, votes) => format!(": {}", count(votes, "vote", "votes")),
        };
        let _ = writeln!(md, "### Patch {}{standing}\n", index + 1);
        let _ = writeln!(md, "- Candidates: {}", id_list(&patch.candidates));
        let _ = writeln!(md, "- Tests: {}", test_results(patch));
        let links: Vec<String> = patch
            .logs
            .iter()
            .map(|number| format!("logs/patch-{number}.log"))
            .filter(|log| report.logs.contains(log))
            .map(|log| link(&log))
            .collect();
        if !links.is_empty() {
            let _ = writeln!(md, "- Log: {}", links.join(", "));
        }
        if index < DIFFS_SHOWN {
            let _ = writeln!(md, "\n```diff\n{}```\n", patch.diff);
        } else {
            let _ = writeln!(md);
        }
    }
    let without_diff = match report.patches.len() {
        shown if shown <= DIFFS_SHOWN => None,
        last if last == DIFFS_SHOWN + 1 => Some(format!("Patch {last} is listed without its diff")),
        last => Some(format!("Patches {} to {last} are listed without their diff", DIFFS_SHOWN + 1)),
    };
    if let Some(without_diff) = without_diff {
        let _ = writeln!(md, "{without_diff}; every candidate's patch is in `{}`.\n", RunDir::CANDIDATES);
    }
}

/// What validation found for a patch, in words.
fn test_results(patch: &DistinctPatch) -> String {
    if let Some(cause) = &patch.no_verdict {
        return format!("no verdict ({})", first_line(cause));
    }
    if patch.applied == Some(false) {
        return "does not apply to the original".to_owned();
    }
    let regressions = match patch.failing_regression_tests.as_deref() {
        None => "regression tests not run".to_owned(),
        Some([]) => "no regressions".to_owned(),
        Some(failing) => {
            let named: Vec<String> = failing.iter().take(FAILING_TESTS_NAMED).map(|test| format!("`{test}`")).collect();
            let more = failing.len() - named.len();
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            format!("{}: {}{more}", count(failing.len(), "regression", "regressions"), named.join(", "))
        }
    };
    format!("{regressions}; {}", reproduction_words(patch.reproduction))
}

/// A reproduction verdict on a patch, in words.
fn reproduction_words(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        None => "reproduction not run",
        Some(Verdict::Resolved) => "fixes the reproduction",
        Some(Verdict::Reproduced) => "still reproduces",
        Some(Verdict::OtherIssues) => "the reproduction test reports other issues",
        Some(Verdict::Silent) => "the reproduction test printed no verdict",
        Some(Verdict::TimedOut) => "the reproduction test timed out",
    }
}

fn tests(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Tests\n");
    if let Some(health) = &report.validation_strength.baseline
        && let Some(problem) = &health.problem
    {
        let _ = writeln!(
            md,
            "**Baseline:** {problem} (exit {}, {} passed, {} failed); its output is in {}.\n",
            health.exit_code,
            health.tests_passed,
            health.tests_failed,
            link(RunDir::BASELINE_LOG)
        );
    }
    for degradation in &report.degradations {
        let _ = writeln!(md, "**Not checked:** {degradation}\n");
    }
    match report.regression_passing {
        Some(passing) => {
            let excluded = if report.regression_excluded.is_empty() {
                String::new()
            } else {
                format!(" ({})", code_list(&report.regression_excluded))
            };
            let _ = writeln!(
                md,
                "Regression tests: {passing} pass on the original; {} excluded as tests the fix may change{excluded}.\n",
                report.regression_excluded.len(),
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
        if report.reproduction_test.is_some() { "; the majority one was run on every patch" } else { "" }
    );
    if let Some(test) = &report.reproduction_test {
        let _ = writeln!(md, "<details><summary>Reproduction test</summary>\n\n```python\n{test}```\n</details>\n");
    }
}

/// The candidates grouped by what became of them: each patch's, then each reason one was thrown away (most
/// candidates first), said once.
fn candidates(md: &mut String, report: &Report) {
    let _ = writeln!(md, "## Candidates\n");
    let _ = writeln!(
        md,
        "{}, named `L<location sample>.S<sample>` from 0; `S0` is the greedy answer.\n",
        count(report.candidates.len(), "candidate", "candidates")
    );
    let mut rows: Vec<(String, Vec<CandidateId>)> = report
        .patches
        .iter()
        .enumerate()
        .map(|(index, patch)| {
            let chosen = if patch.chosen { " (chosen)" } else { "" };
            (format!("patch {}{chosen}", index + 1), patch.candidates.clone())
        })
        .collect();
    let in_a_patch = |id: &CandidateId| report.patches.iter().any(|patch| patch.candidates.contains(id));
    let mut thrown_away: Vec<ThrownAway> = Vec::new();
    for row in report.candidates.iter().filter(|row| !in_a_patch(&row.id)) {
        let index = match thrown_away.iter().position(|group| group.status == row.status) {
            Some(index) => index,
            None => {
                thrown_away.push(ThrownAway { status: row.status, ids: Vec::new(), details: Vec::new() });
                thrown_away.len() - 1
            }
        };
        thrown_away[index].add(row.id, row.detail.as_deref());
    }
    thrown_away.sort_by_key(|group| std::cmp::Reverse(group.ids.len()));
    rows.extend(thrown_away.into_iter().map(|group| (group.reason(), group.ids)));
    let _ = writeln!(md, "| outcome | count | candidates |");
    let _ = writeln!(md, "|---|---|---|");
    for (outcome, ids) in rows {
        let _ = writeln!(md, "| {} | {} | {} |", table_cell(&outcome), ids.len(), id_list(&ids));
    }
    let _ = writeln!(md);
}

/// The candidates thrown away for one reason, and the different details given (each with its count).
struct ThrownAway {
    status: CandidateStatus,
    ids: Vec<CandidateId>,
    details: Vec<(String, usize)>,
}

impl ThrownAway {
    fn add(&mut self, id: CandidateId, detail: Option<&str>) {
        self.ids.push(id);
        let Some(detail) = detail.map(first_line).filter(|detail| *detail != status_words(self.status)) else {
            return;
        };
        match self.details.iter_mut().find(|(known, _)| known == detail) {
            Some((_, count)) => *count += 1,
            None => self.details.push((detail.to_owned(), 1)),
        }
    }

    /// The reason in words, then the most frequent details (counted when several candidates share the reason).
    fn reason(&self) -> String {
        let mut details: Vec<&(String, usize)> = self.details.iter().collect();
        details.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        let named: Vec<String> = details
            .iter()
            .take(DETAILS_NAMED)
            .map(|(detail, number)| match self.ids.len() {
                1 => detail.clone(),
                _ => format!("{detail} ({})", count(*number, "candidate", "candidates")),
            })
            .collect();
        let words = status_words(self.status);
        if named.is_empty() {
            return words.to_owned();
        }
        let others = match details.len() - named.len() {
            0 => String::new(),
            others => format!("; {}", count(others, "other detail", "other details")),
        };
        format!("{words}: {}{others}", named.join("; "))
    }
}

/// Why a candidate was thrown away, in words.
fn status_words(status: CandidateStatus) -> &'static str {
    match status {
        CandidateStatus::Ok => "a patch",
        CandidateStatus::Empty => "no answer",
        CandidateStatus::NoEdits => "no complete SEARCH/REPLACE edit",
        CandidateStatus::SearchNotFound => "a SEARCH block matches nothing in the shown code",
        CandidateStatus::OutsideContext => "edits a file that was not shown",
        CandidateStatus::EscapesRepo => "edits a path outside the repository",
        CandidateStatus::SyntaxError => "the edited code does not parse",
        CandidateStatus::WhitespaceOnly => "changes only whitespace",
    }
}

fn cost_and_time(md: &mut String, report: &Report) {
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
}

fn logs(md: &mut String, report: &Report) {
    if report.logs.is_empty() {
        return;
    }
    let links: Vec<String> = report.logs.iter().map(|log| link(log)).collect();
    let _ = writeln!(md, "\n## Logs\n\n{}.", links.join(", "));
}

/// A relative link to a file of the run directory, named by its file name.
fn link(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    format!("[{name}]({path})")
}

/// `1 vote`, `2 votes`.
fn count(number: usize, one: &str, many: &str) -> String {
    format!("{number} {}", if number == 1 { one } else { many })
}

fn id_list(ids: &[CandidateId]) -> String {
    ids.iter().map(CandidateId::to_string).collect::<Vec<_>>().join(", ")
}

fn code_list(items: &[String]) -> String {
    items.iter().map(|item| format!("`{item}`")).collect::<Vec<_>>().join(", ")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Text safe in a table cell: one line, `|` escaped.
fn table_cell(text: &str) -> String {
    first_line(text).replace('|', "\\|")
}
