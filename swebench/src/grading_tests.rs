use pretty_assertions::assert_eq;

use super::*;

fn log(body: &str) -> String {
    format!(
        "+ git apply -v -\nChecking patch tests/test_x.py...\nApplied patch tests/test_x.py cleanly.\n\
         + : '>>>>> Start Test Output'\n+ pytest -rA tests/test_x.py\n{body}\n+ SWEBENCH_TEST_EXIT_CODE=0\n\
         + : '>>>>> End Test Output'\n+ echo '>>>>> Test Exit Code: 0'\n>>>>> Test Exit Code: 0\n\
         + git checkout abc tests/test_x.py\nUpdated 1 path from abc\n"
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn parsed(content: &str) -> StatusMap {
    match evaluate_log(content, LogParser::Pytest) {
        LogEvaluation::Parsed(statuses) => statuses,
        LogEvaluation::Invalid(reason) => panic!("invalid log: {reason:?}"),
    }
}

#[test]
fn failure_markers_and_missing_markers_invalidate() {
    for marker in [APPLY_PATCH_FAIL, RESET_FAILED, TESTS_ERROR, TESTS_TIMEOUT] {
        let content = format!("{}\n{marker}\n", log("PASSED tests/test_x.py::test_a"));
        assert_eq!(
            evaluate_log(&content, LogParser::Pytest),
            LogEvaluation::Invalid(InvalidLog::FailureMarker(marker))
        );
    }
    let truncated = "+ : '>>>>> Start Test Output'\nPASSED tests/test_x.py::test_a\n";
    assert_eq!(evaluate_log(truncated, LogParser::Pytest), LogEvaluation::Invalid(InvalidLog::MissingMarkers));
}

#[test]
fn only_the_text_between_markers_counts_unless_it_is_empty() {
    let content = format!("PASSED tests/test_x.py::test_outside\n{}", log("FAILED tests/test_x.py::test_a - boom"));
    let statuses = parsed(&content);
    assert_eq!(statuses.keys().collect::<Vec<_>>(), vec!["tests/test_x.py::test_a"]);
    // Nothing between the markers: the whole log is parsed (upstream's fallback for reordered output).
    let content = format!("PASSED tests/test_x.py::test_outside\n{}", log("no summary"));
    assert_eq!(parsed(&content).keys().collect::<Vec<_>>(), vec!["tests/test_x.py::test_outside"]);
    assert_eq!(
        evaluate_log(&log("collected 0 items"), LogParser::Pytest),
        LogEvaluation::Invalid(InvalidLog::NoResults)
    );
}

#[test]
fn non_zero_exit_without_failures_is_invalid() {
    let content = log("PASSED tests/test_x.py::test_a").replace("Exit Code: 0", "Exit Code: 1");
    assert_eq!(
        evaluate_log(&content, LogParser::Pytest),
        LogEvaluation::Invalid(InvalidLog::ExitCodeWithoutFailures(1))
    );
    let content =
        log("PASSED tests/test_x.py::test_a\nFAILED tests/test_x.py::test_b").replace("Exit Code: 0", "Exit Code: 1");
    assert_eq!(parsed(&content).len(), 2);
}

#[test]
fn f2p_and_p2p_rules() {
    let statuses = parsed(&log("\
PASSED t.py::passed
XFAIL t.py::xfail - reason
SKIPPED t.py::skipped
FAILED t.py::failed - boom
ERROR t.py::error - boom
XPASS t.py::xpass"));
    let cases =
        strings(&["t.py::passed", "t.py::xfail", "t.py::skipped", "t.py::failed", "t.py::error", "t.py::missing"]);
    let report = tests_status(&statuses, &cases, &cases, EvalType::PassAndFail);
    assert_eq!(report.fail_to_pass.success, strings(&["t.py::passed", "t.py::xfail"]));
    assert_eq!(
        report.fail_to_pass.failure,
        strings(&["t.py::skipped", "t.py::failed", "t.py::error", "t.py::missing"])
    );
    assert_eq!(report.pass_to_pass.success, strings(&["t.py::passed", "t.py::xfail", "t.py::skipped"]));
    assert_eq!(report.pass_to_pass.failure, strings(&["t.py::failed", "t.py::error", "t.py::missing"]));
    // `XPASS` is not a status upstream knows: the line is not even parsed, so the test is missing.
    assert!(!statuses.contains_key("t.py::xpass"));
}

#[test]
fn unknown_status_lands_in_neither_list() {
    let mut statuses = StatusMap::new();
    statuses.insert("a".to_owned(), TestStatus::Other("XFAILED".to_owned()));
    let report = tests_status(&statuses, &strings(&["a"]), &[], EvalType::PassAndFail);
    assert_eq!(report.fail_to_pass, SuccessFailure::default());
    assert_eq!(report.resolution(), ResolvedStatus::Full);
}

#[test]
fn truncated_parametrized_ids_are_prefix_matched_when_candidates_agree() {
    // pytest_v2 keeps whole ids (the first-token parsers would produce the truncated ids exactly).
    let agree = LogParser::PytestV2.parse(
        "PASSED a.py::test_grammar[log(photon /m**2)]\nPASSED a.py::test_grammar[log(photon /s)]\n\
         FAILED a.py::test_other[x y] - boom\nPASSED a.py::test_other[x z]\n",
    );
    let cases = strings(&["a.py::test_grammar[log(photon", "a.py::test_other[x", "a.py::test_grammar"]);
    let report = tests_status(&agree, &cases, &[], EvalType::PassAndFail);
    assert_eq!(report.fail_to_pass.success, strings(&["a.py::test_grammar[log(photon"]));
    // Disagreeing candidates, and a closed id, do not prefix-match: both count as missing.
    assert_eq!(report.fail_to_pass.failure, strings(&["a.py::test_other[x", "a.py::test_grammar"]));
}

#[test]
fn resolution_levels() {
    let status = |f2p_success: &[&str], f2p_failure: &[&str], p2p_failure: &[&str]| TestsStatus {
        fail_to_pass: SuccessFailure { success: strings(f2p_success), failure: strings(f2p_failure) },
        pass_to_pass: SuccessFailure { success: Vec::new(), failure: strings(p2p_failure) },
        ..TestsStatus::default()
    };
    assert_eq!(status(&["a"], &[], &[]).resolution(), ResolvedStatus::Full);
    assert_eq!(status(&[], &[], &[]).resolution(), ResolvedStatus::Full);
    assert_eq!(status(&["a"], &["b"], &[]).resolution(), ResolvedStatus::Partial);
    assert_eq!(status(&["a"], &["b"], &["c"]).resolution(), ResolvedStatus::No);
    assert_eq!(status(&[], &["b"], &[]).resolution(), ResolvedStatus::No);
    assert_eq!(status(&["a"], &[], &["c"]).resolution(), ResolvedStatus::No);
    assert_eq!(status(&["a"], &["b"], &[]).fail_to_pass_rate(), 0.5);
    assert_eq!(status(&[], &[], &[]).pass_to_pass_rate(), 1.0);
}

#[test]
fn fail_only_counts_only_explicit_failures() {
    let statuses = parsed(&log("FAILED t.py::a - x\nPASSED t.py::b"));
    let report = tests_status(&statuses, &strings(&["t.py::a", "t.py::b", "t.py::c"]), &[], EvalType::FailOnly);
    assert_eq!(report.fail_to_pass.success, strings(&["t.py::b", "t.py::c"]));
    assert_eq!(report.fail_to_pass.failure, strings(&["t.py::a"]));
}

#[test]
fn infra_failure_signatures() {
    let oom = classify_infra_failure("running\nKilled\n").unwrap();
    assert_eq!((oom.reason, oom.environment), ("out_of_memory", true));
    let module = classify_infra_failure("E   ModuleNotFoundError: No module named 'numpy'").unwrap();
    assert_eq!((module.reason, module.environment), ("missing_module", false));
    assert_eq!(classify_infra_failure("all fine\nnot Killed here"), None);
}
