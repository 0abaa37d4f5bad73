use std::collections::BTreeMap;
use std::time::Duration;

use agentless_candidate::{CandidateId, Patch};
use agentless_localize::{Issue, Locations};
use agentless_model::{StageTotals, Usage};
use agentless_repair::{Candidate, CandidateStatus};
use agentless_sandbox::Isolation;
use agentless_syntax::RepoSnapshot;
use agentless_validate::baseline::{BaselineHealth, BaselineProblem};
use agentless_validate::regression::{RegressionPlan, RegressionResult};
use agentless_validate::reproduction::Verdict;
use agentless_validate::selection::{Evaluated, SelectionRule, Vote, select};
use agentless_validate::test_command::TestCommand;
use agentless_validate::{PatchResult, ValidationReport, ValidationStrength};
use pretty_assertions::assert_eq;

use super::{CandidateRow, DistinctPatch, Report, StageTime, markdown};
use crate::{PipelineOptions, RunSettings};

/// A row of candidate `L{location_sample}.S{sample}`; rows without regression failures are eligible.
fn row(
    location_sample: usize,
    sample: usize,
    status: CandidateStatus,
    patch: Option<usize>,
    regressions: Option<usize>,
) -> CandidateRow {
    CandidateRow {
        id: CandidateId::new(location_sample, sample),
        status,
        detail: (status != CandidateStatus::Ok).then(|| "`calc.py`: SEARCH block | not found\nsecond line".to_owned()),
        patch,
        applied: patch.map(|_| true),
        sandbox_error: None,
        regression_failures: regressions,
        reproduction: patch.map(|_| Verdict::Resolved),
        eligible: regressions == Some(0),
        chosen: (location_sample, sample) == (0, 0),
    }
}

/// A one-line change of `calc.py`: `-{old}` then `+{new}`.
fn diff(old: &str, new: &str) -> Patch {
    Patch::new(format!("--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-{old}\n+{new}\n")).unwrap()
}

fn report() -> Report {
    let patch = "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-return a - b\n+return a + b\n".to_owned();
    let mut sandbox_failed = row(1, 1, CandidateStatus::Ok, Some(3), None);
    sandbox_failed.sandbox_error = Some("the worker died twice".to_owned());
    let totals = |calls: u64, cost_usd: f64| StageTotals {
        calls,
        cached_calls: 1,
        usage: Usage { prompt_tokens: calls * 1000, completion_tokens: calls * 100, ..Usage::default() },
        cost_usd,
    };
    Report {
        agentless_version: "0.1.0",
        title: "add() subtracts instead of adding".to_owned(),
        settings: RunSettings::new(&PipelineOptions::default(), "openai:gpt-4o-2024-05-13"),
        repository: "calc".to_owned(),
        commit: Some("0123456789abcdef0123".to_owned()),
        instance_id: "calc-1".to_owned(),
        found_files: vec!["calc.py".to_owned(), "util.py".to_owned()],
        edit_location_samples: 2,
        candidates: vec![
            row(0, 0, CandidateStatus::Ok, Some(1), Some(0)),
            row(1, 0, CandidateStatus::SearchNotFound, None, None),
            row(0, 1, CandidateStatus::Ok, Some(2), Some(1)),
            sandbox_failed,
            row(0, 2, CandidateStatus::Ok, Some(1), Some(0)),
        ],
        test_command: "pytest -rA".to_owned(),
        regression_passing: Some(12),
        regression_excluded: vec!["test_calc.py::test_sub".to_owned()],
        reproduction_generated: 4,
        reproduction_reproducing: 3,
        reproduction_test: Some("assert add(1, 2) == 3\nprint('Issue resolved')\n".to_owned()),
        rule: SelectionRule::RegressionAndReproduction,
        selection_reason: "fewest regressions and the reproduction test passes".to_owned(),
        validation_strength: ValidationStrength {
            regression_tests_run: 11,
            reproduction_tests_kept: 1,
            baseline: None,
        },
        min_regressions: Some(0),
        votes: vec![Vote { first: CandidateId::new(0, 0), count: 2 }],
        chosen_patch: Patch::new(patch.clone()),
        patches: vec![
            DistinctPatch {
                diff: Patch::new(patch).unwrap(),
                candidates: vec![CandidateId::new(0, 0), CandidateId::new(0, 2)],
                votes: 2,
                chosen: true,
                applied: Some(true),
                failing_regression_tests: Some(Vec::new()),
                reproduction: Some(Verdict::Resolved),
                no_verdict: None,
                logs: vec![1],
            },
            DistinctPatch {
                diff: diff("return a - b", "return b + a"),
                candidates: vec![CandidateId::new(0, 1)],
                votes: 0,
                chosen: false,
                applied: Some(true),
                failing_regression_tests: Some(vec!["test_calc.py::test_add_floats".to_owned()]),
                reproduction: Some(Verdict::OtherIssues),
                no_verdict: None,
                logs: vec![2],
            },
            DistinctPatch {
                diff: diff("return a - b", "return sum([a, b])"),
                candidates: vec![CandidateId::new(1, 1)],
                votes: 0,
                chosen: false,
                applied: Some(true),
                failing_regression_tests: None,
                reproduction: None,
                no_verdict: Some("the worker died twice".to_owned()),
                logs: vec![3],
            },
        ],
        stopped: None,
        isolation: Some(Isolation {
            mechanism: "bubblewrap".to_owned(),
            network_cut: true,
            host_read_only: true,
            secrets_hidden: true,
            processes_contained: true,
            process_limit: None,
            memory_limit: None,
        }),
        degradations: vec!["the reproduction tests of sample 2 lost to a sandbox fault".to_owned()],
        usage_by_stage: BTreeMap::from([
            ("localize".to_owned(), totals(3, 0.01)),
            ("repair".to_owned(), totals(2, 0.02)),
        ]),
        usage_total: totals(5, 0.03),
        times: vec![
            StageTime { stage: "localize".to_owned(), seconds: 1.25 },
            StageTime { stage: "repair".to_owned(), seconds: 2.5 },
            StageTime { stage: "validate".to_owned(), seconds: 30.0 },
        ],
        seconds: 33.75,
        logs: ["baseline.log", "patch-1.log", "patch-2.log", "patch-3.log", "setup.log"]
            .map(|name| format!("logs/{name}"))
            .to_vec(),
    }
}

#[test]
fn markdown_of_a_run_with_several_candidates() {
    insta::assert_snapshot!(markdown(&report()));
}

/// A run whose tests did not collect on the original: report.md says so, with the cause and the log, and the
/// result names what chose the patch; report.json carries the same for a machine.
#[test]
fn a_broken_baseline_is_reported_with_its_cause_and_log() {
    let mut report = report();
    report.regression_passing = Some(0);
    report.regression_excluded = Vec::new();
    report.reproduction_reproducing = 0;
    report.reproduction_test = None;
    report.rule = SelectionRule::RegressionOnly;
    report.selection_reason = "regression tests unavailable: the original's tests failed to collect (exit 2; \
                               logs/baseline.log); majority vote among the patches that apply (no candidate passed \
                               a reproduction test)"
        .to_owned();
    report.validation_strength = ValidationStrength {
        regression_tests_run: 0,
        reproduction_tests_kept: 0,
        baseline: Some(BaselineHealth {
            exit_code: 2,
            tests_passed: 0,
            tests_failed: 0,
            problem: Some(BaselineProblem::CollectionErrors { first: None }),
        }),
    };
    report.degradations =
        vec!["regression tests unavailable: the original's tests failed to collect (exit 2)".to_owned()];
    let md = markdown(&report);
    let end = md.find("## Candidates").unwrap();
    insta::assert_snapshot!(&md[..end]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["validation_strength"],
        serde_json::json!({
            "regression_tests_run": 0,
            "reproduction_tests_kept": 0,
            "baseline": {"exit_code": 2, "tests_passed": 0, "tests_failed": 0, "problem": {"kind": "collection_errors"}}
        })
    );
}

fn candidate(location_sample: usize, sample: usize, patch: Option<&str>) -> Candidate {
    let patch = patch.and_then(|text| Patch::new(text.to_owned()));
    Candidate {
        id: CandidateId::new(location_sample, sample),
        instance_id: "issue-1".to_owned(),
        temperature: 0.0,
        model_patch: patch.clone(),
        normalized_patch: patch.clone(),
        raw_patch: patch.clone(),
        raw_output: String::new(),
        edited_files: Vec::new(),
        status: if patch.is_some() { CandidateStatus::Ok } else { CandidateStatus::Empty },
        detail: patch.is_none().then(|| "the model answered nothing".to_owned()),
        match_rules: Vec::new(),
        usage: Usage::default(),
        cost_usd: 0.0,
        from_cache: false,
    }
}

fn result(patch: &str, candidates: &[(usize, usize)], reproduction: Verdict) -> PatchResult {
    PatchResult {
        patch: Patch::new(patch.to_owned()).unwrap(),
        candidates: candidates.iter().map(|&(location, sample)| CandidateId::new(location, sample)).collect(),
        applied: true,
        apply_log: String::new(),
        regression: None,
        reproduction: Some(reproduction),
        test_log: String::new(),
        error: None,
        recovered_faults: Vec::new(),
    }
}

/// Rows are joined to validation results by id: the candidates come shuffled, one of them without a patch.
#[test]
fn rows_name_their_own_candidates_and_results() {
    let repo = tempfile::tempdir().unwrap();
    fs_err::write(repo.path().join("m.py"), "x = 1\n").unwrap();
    let snapshot = RepoSnapshot::open(repo.path(), None).unwrap();
    let issue = Issue { id: "issue-1".to_owned(), text: "x".to_owned() };
    let candidates = [
        candidate(1, 1, Some("+x\n")),
        candidate(1, 0, None),
        candidate(0, 1, Some("+x\n")),
        candidate(0, 0, Some("+y\n")),
    ];
    let patch_results =
        vec![result("+y\n", &[(0, 0)], Verdict::Reproduced), result("+x\n", &[(0, 1), (1, 1)], Verdict::Resolved)];
    let evaluated: Vec<Evaluated> = [((0, 0), "+y\n", false), ((0, 1), "+x\n", true), ((1, 1), "+x\n", true)]
        .into_iter()
        .map(|((location, sample), normalized, passed)| Evaluated {
            id: CandidateId::new(location, sample),
            normalized_patch: Patch::new(normalized.to_owned()),
            regression_failures: None,
            reproduction_passed: Some(passed),
        })
        .collect();
    let validation = ValidationReport {
        test_command: TestCommand::from_user("true"),
        regression: None,
        reproduction: None,
        patch_results,
        selection: select(&evaluated),
        evaluated,
        stopped: None,
        isolation: None,
        degradations: Vec::new(),
    };
    let report = Report::new(
        &snapshot,
        &issue,
        RunSettings::new(&PipelineOptions::default(), "openai:gpt-4o-2024-05-13"),
        &Locations::default(),
        &candidates,
        &validation,
        None,
        BTreeMap::new(),
        StageTotals::default(),
        Vec::new(),
        Duration::ZERO,
        Vec::new(),
    );
    let rows: Vec<(String, Option<usize>, bool)> =
        report.candidates.iter().map(|row| (row.id.to_string(), row.patch, row.chosen)).collect();
    assert_eq!(
        rows,
        [
            ("L0.S0".to_owned(), Some(1), false),
            ("L1.S0".to_owned(), None, false),
            ("L0.S1".to_owned(), Some(2), true),
            ("L1.S1".to_owned(), Some(2), false),
        ]
    );
    assert_eq!(report.chosen_patch.as_ref().map(Patch::as_str), Some("+x\n"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["candidates"][1]["patch"], serde_json::Value::Null);
    assert_eq!(json["votes"], serde_json::json!([{"first": "L0.S1", "count": 2}]));

    let md = markdown(&report);
    let start = md.find("## Candidates").unwrap();
    let end = md.find("## Cost and time").unwrap();
    insta::assert_snapshot!(&md[start..end]);
    assert!(md.contains("**Result:** chose candidate L0.S1 of 4 (3 applied)"), "{md}");
}

/// Candidate `L{location_sample}.S{sample}` with raw patch `raw` normalized to `normalized`.
fn patched(location_sample: usize, sample: usize, raw: &Patch, normalized: &str) -> Candidate {
    Candidate {
        model_patch: Some(raw.clone()),
        normalized_patch: Patch::new(normalized.to_owned()),
        raw_patch: Some(raw.clone()),
        status: CandidateStatus::Ok,
        ..candidate(location_sample, sample, None)
    }
}

fn thrown_away(location_sample: usize, sample: usize, status: CandidateStatus, detail: &str) -> Candidate {
    Candidate { status, detail: Some(detail.to_owned()), ..candidate(location_sample, sample, None) }
}

fn tested(patch: &Patch, candidates: &[(usize, usize)], failing: &[&str], reproduction: Verdict) -> PatchResult {
    PatchResult {
        regression: Some(RegressionResult {
            failing: failing.iter().map(|test| (*test).to_owned()).collect(),
            exit_code: Some(i32::from(!failing.is_empty())),
            timed_out: false,
        }),
        ..result(patch.as_str(), candidates, reproduction)
    }
}

/// Several distinct patches: the chosen one first, the runner-up with its votes and diff, a patch that breaks two
/// named tests, one the sandbox failed on (its diff not shown: only three are); candidates thrown away for one
/// reason are said once.
#[test]
fn each_distinct_patch_has_its_votes_tests_and_diff() {
    let folder = tempfile::tempdir().unwrap();
    let repo = folder.path().join("calc");
    fs_err::create_dir(&repo).unwrap();
    fs_err::write(repo.join("calc.py"), "return a - b\n").unwrap();
    let snapshot = RepoSnapshot::open(&repo, None).unwrap();
    let issue = Issue {
        id: "calc-7".to_owned(),
        text: "## `add` subtracts instead of adding\n\nCalling add(1, 2) returns -1.\n".to_owned(),
    };
    let plus = diff("return a - b", "return a + b");
    let plus_spaced = diff("return a - b", "return a  +  b");
    let swapped = diff("return a - b", "return b + a");
    let doubled = diff("return a - b", "return 2 * a");
    let summed = diff("return a - b", "return sum((a, b))");
    let candidates = [
        patched(0, 0, &plus, "a + b"),
        patched(0, 1, &plus_spaced, "a + b"),
        patched(0, 2, &doubled, "2 * a"),
        patched(0, 3, &swapped, "b + a"),
        patched(0, 4, &summed, "sum"),
        thrown_away(1, 0, CandidateStatus::SearchNotFound, "`calc.py`: no SEARCH block matches"),
        thrown_away(1, 1, CandidateStatus::SearchNotFound, "`calc.py`: no SEARCH block matches"),
        thrown_away(1, 2, CandidateStatus::SearchNotFound, "`util.py`: no SEARCH block matches"),
        thrown_away(1, 3, CandidateStatus::Empty, "the model answered nothing"),
        patched(1, 4, &doubled, "2 * a"),
        patched(2, 0, &swapped, "b + a"),
    ];
    let mut sandbox_failed = result(summed.as_str(), &[(0, 4)], Verdict::Resolved);
    sandbox_failed.reproduction = None;
    sandbox_failed.error = Some("the worker died twice\nthe container is gone".to_owned());
    let patch_results = vec![
        tested(&plus, &[(0, 0)], &[], Verdict::Resolved),
        tested(&plus_spaced, &[(0, 1)], &[], Verdict::Resolved),
        tested(&doubled, &[(0, 2), (1, 4)], &["test_calc.py::test_add", "test_calc.py::test_add_negative"], {
            Verdict::Reproduced
        }),
        tested(&swapped, &[(0, 3), (2, 0)], &[], Verdict::Resolved),
        sandbox_failed,
    ];
    let evaluated: Vec<Evaluated> = candidates
        .iter()
        .filter(|candidate| candidate.model_patch.is_some())
        .map(|candidate| {
            let (_, result) =
                patch_results.iter().enumerate().find(|(_, r)| r.candidates.contains(&candidate.id)).unwrap();
            Evaluated {
                id: candidate.id,
                normalized_patch: candidate.normalized_patch.clone(),
                regression_failures: result.regression.as_ref().map(|regression| regression.failing.len()),
                reproduction_passed: result.reproduction.map(|verdict| verdict == Verdict::Resolved),
            }
        })
        .collect();
    let regression_tests: Vec<String> =
        ["test_add", "test_add_negative", "test_sub"].map(|test| format!("test_calc.py::{test}")).to_vec();
    let validation = ValidationReport {
        test_command: TestCommand::from_user("pytest -rA"),
        regression: Some(RegressionPlan {
            command: Some(TestCommand::from_user("pytest -rA")),
            passing: regression_tests.clone(),
            kept: regression_tests,
            ..RegressionPlan::default()
        }),
        reproduction: None,
        patch_results,
        selection: select(&evaluated),
        evaluated,
        stopped: None,
        isolation: None,
        degradations: Vec::new(),
    };
    let logs = ["baseline.log", "patch-1.log", "patch-2.log", "patch-3.log", "patch-4.log", "patch-5.log"];
    let report = Report::new(
        &snapshot,
        &issue,
        RunSettings::new(&PipelineOptions::default(), "anthropic:claude-3-5-sonnet-20241022"),
        &Locations::default(),
        &candidates,
        &validation,
        None,
        BTreeMap::new(),
        StageTotals::default(),
        Vec::new(),
        Duration::ZERO,
        logs.map(|name| format!("logs/{name}")).to_vec(),
    );
    assert_eq!(report.title, "`add` subtracts instead of adding");
    let sections: Vec<(Vec<String>, usize, bool)> = report
        .patches
        .iter()
        .map(|patch| (patch.candidates.iter().map(CandidateId::to_string).collect(), patch.votes, patch.chosen))
        .collect();
    assert_eq!(
        sections,
        [
            (vec!["L0.S0".to_owned(), "L0.S1".to_owned()], 2, true),
            (vec!["L2.S0".to_owned(), "L0.S3".to_owned()], 2, false),
            (vec!["L0.S2".to_owned(), "L1.S4".to_owned()], 0, false),
            (vec!["L0.S4".to_owned()], 0, false),
        ]
    );
    assert_eq!(report.patches[1].logs, [4], "both candidates share one raw patch");
    assert_eq!(report.patches[0].logs, [1, 2], "two raw patches normalize to one");
    assert_eq!(
        report.patches[2].failing_regression_tests.as_deref(),
        Some(["test_calc.py::test_add".to_owned(), "test_calc.py::test_add_negative".to_owned()].as_slice())
    );
    let md = markdown(&report);
    let end = md.find("## Cost and time").unwrap();
    insta::assert_snapshot!(&md[..end]);
}
