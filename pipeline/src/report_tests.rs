use std::collections::BTreeMap;
use std::time::Duration;

use agentless_candidate::{CandidateId, Patch};
use agentless_localize::{Issue, Locations};
use agentless_model::{StageTotals, Usage};
use agentless_repair::{Candidate, CandidateStatus};
use agentless_sandbox::Isolation;
use agentless_syntax::RepoSnapshot;
use agentless_validate::baseline::{BaselineHealth, BaselineProblem};
use agentless_validate::reproduction::Verdict;
use agentless_validate::selection::{Evaluated, SelectionRule, Vote, select};
use agentless_validate::test_command::TestCommand;
use agentless_validate::{PatchResult, ValidationReport, ValidationStrength};
use pretty_assertions::assert_eq;

use super::{CandidateRow, Report, StageTime, markdown};

/// A row of candidate `L{location_sample}.S{sample}`; rows without regression failures are eligible.
fn row(
    location_sample: usize,
    sample: usize,
    status: &str,
    patch: Option<usize>,
    regressions: Option<usize>,
) -> CandidateRow {
    CandidateRow {
        id: CandidateId::new(location_sample, sample),
        status: status.to_owned(),
        detail: (status != "ok").then(|| "SEARCH block | not found\nsecond line".to_owned()),
        patch,
        applied: patch.map(|_| true),
        sandbox_error: None,
        regression_failures: regressions,
        reproduction: patch.map(|_| Verdict::Resolved),
        eligible: regressions == Some(0),
        chosen: (location_sample, sample) == (0, 0),
    }
}

fn report() -> Report {
    let patch = "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-return a - b\n+return a + b\n".to_owned();
    let mut sandbox_failed = row(1, 1, "ok", Some(3), None);
    sandbox_failed.sandbox_error = Some("the worker died twice".to_owned());
    let totals = |calls: u64, cost_usd: f64| StageTotals {
        calls,
        cached_calls: 1,
        usage: Usage { prompt_tokens: calls * 1000, completion_tokens: calls * 100, ..Usage::default() },
        cost_usd,
    };
    Report {
        agentless_version: "0.1.0",
        repository: "calc".to_owned(),
        commit: Some("0123456789abcdef0123".to_owned()),
        instance_id: "calc-1".to_owned(),
        found_files: vec!["calc.py".to_owned(), "util.py".to_owned()],
        edit_location_samples: 2,
        candidates: vec![
            row(0, 0, "ok", Some(1), Some(0)),
            row(1, 0, "search_not_found", None, None),
            row(0, 1, "ok", Some(2), Some(1)),
            sandbox_failed,
            row(0, 2, "ok", Some(1), Some(0)),
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
        chosen_patch: Patch::new(patch),
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
            problem: Some(BaselineProblem::CollectionErrors),
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
        &Locations::default(),
        &candidates,
        &validation,
        None,
        BTreeMap::new(),
        StageTotals::default(),
        Vec::new(),
        Duration::ZERO,
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
