//! Grading as SWE-bench 5.x does it (`swebench/harness/grading.py`, 5.0.2): reading a test log into a status map
//! (with the failure markers and the sanity checks), judging FAIL_TO_PASS / PASS_TO_PASS, and the resolution status.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::eval_script::{
    APPLY_PATCH_FAIL, END_TEST_OUTPUT, RESET_FAILED, START_TEST_OUTPUT, TEST_EXIT_CODE, TESTS_ERROR, TESTS_TIMEOUT,
};
use agentless_testlog::{LogParser, StatusMap, TestStatus};

/// Evidence a (JavaScript) runner executed, used when the status map is empty (`SUITE_RAN` upstream; no Python
/// runner prints these, so for Python an empty map means the log is invalid).
static SUITE_RAN: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?m)Executed [1-9]\d* of \d+|TOTAL: [1-9]\d* (?:SUCCESS|FAILED)|[1-9]\d* passing|Tests:\s+[1-9]\d*|Test Suites:\s+(?:\d+ \w+, )*[1-9]\d* total|^# tests [1-9]\d*|[1-9]\d* specs?, \d+ failures?|': ok$",
    )
});
static TEST_EXIT_CODE_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"{}:\s*(-?\d+)", regex::escape(TEST_EXIT_CODE))));

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|error| unreachable!("invalid built-in regex {pattern}: {error}"))
}

/// Why a log yields no results (upstream returns `({}, False)` for all of these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidLog {
    /// One of the runner's failure markers (patch apply failed, reset failed, tests errored or timed out).
    FailureMarker(&'static str),
    /// The start or end marker is missing (the eval script did not get that far).
    MissingMarkers,
    /// Nothing parsed, and no sign the suite ran.
    NoResults,
    /// The test command exited non-zero while the log reports no failure or error.
    ExitCodeWithoutFailures(i64),
}

/// What a test log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvaluation {
    Invalid(InvalidLog),
    Parsed(StatusMap),
}

/// `get_logs_eval`: the status map of the text between the markers (the whole log if that gives nothing).
pub fn evaluate_log(content: &str, parser: LogParser) -> LogEvaluation {
    let failure_markers = [APPLY_PATCH_FAIL, RESET_FAILED, TESTS_ERROR, TESTS_TIMEOUT];
    if let Some(marker) = failure_markers.into_iter().find(|marker| content.contains(marker)) {
        return LogEvaluation::Invalid(InvalidLog::FailureMarker(marker));
    }
    if !(content.contains(START_TEST_OUTPUT) && content.contains(END_TEST_OUTPUT)) {
        return LogEvaluation::Invalid(InvalidLog::MissingMarkers);
    }
    // `content.split(START)[1].split(END)[0]`: after the first start marker, up to the next start or end marker.
    let after_start = content.split(START_TEST_OUTPUT).nth(1).unwrap_or_default();
    let between = after_start.split(END_TEST_OUTPUT).next().unwrap_or_default();
    let mut statuses = parser.parse(between);
    if statuses.is_empty() {
        statuses = parser.parse(content);
    }
    if statuses.is_empty() && !SUITE_RAN.is_match(content) {
        return LogEvaluation::Invalid(InvalidLog::NoResults);
    }
    let exit_code = TEST_EXIT_CODE_PATTERN.captures(content).and_then(|captures| captures[1].parse::<i64>().ok());
    if let Some(exit_code) = exit_code
        && exit_code != 0
        && !statuses.is_empty()
        && !statuses.values().any(TestStatus::is_failure)
    {
        return LogEvaluation::Invalid(InvalidLog::ExitCodeWithoutFailures(exit_code));
    }
    LogEvaluation::Parsed(statuses)
}

/// `eval_type`: every Python instance is `pass_and_fail`; `fail_only` exists for some JavaScript repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalType {
    PassAndFail,
    FailOnly,
}

impl EvalType {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pass_and_fail" => Some(EvalType::PassAndFail),
            "fail_only" => Some(EvalType::FailOnly),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessFailure {
    pub success: Vec<String>,
    pub failure: Vec<String>,
}

/// `tests_status` of `report.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestsStatus {
    #[serde(rename = "FAIL_TO_PASS")]
    pub fail_to_pass: SuccessFailure,
    #[serde(rename = "PASS_TO_PASS")]
    pub pass_to_pass: SuccessFailure,
    #[serde(rename = "FAIL_TO_FAIL")]
    pub fail_to_fail: SuccessFailure,
    #[serde(rename = "PASS_TO_FAIL")]
    pub pass_to_fail: SuccessFailure,
}

/// The status-map key for a test: itself, or — for a parametrized id cut inside its brackets (more `[` than `]`)
/// — the first key it prefixes, provided every such key agrees on pass/fail.
fn resolve_case<'a>(case: &'a str, statuses: &'a StatusMap) -> Option<&'a TestStatus> {
    if let Some(status) = statuses.get(case) {
        return Some(status);
    }
    if case.matches('[').count() <= case.matches(']').count() {
        return None;
    }
    let mut candidates = statuses.iter().filter(|(name, _)| name.starts_with(case)).map(|(_, status)| status);
    let first = candidates.next()?;
    candidates.all(|status| status.is_pass() == first.is_pass()).then_some(first)
}

fn test_passed(status: Option<&TestStatus>) -> bool {
    status.is_some_and(TestStatus::is_pass)
}

/// P2P: a skipped test is not a regression.
fn test_maintained(status: Option<&TestStatus>) -> bool {
    test_passed(status) || status.is_some_and(|status| *status == TestStatus::Skipped)
}

/// Missing, FAILED, ERROR, or (5.x, for F2P) SKIPPED.
fn test_failed(status: Option<&TestStatus>) -> bool {
    status.is_none_or(|status| matches!(status, TestStatus::Failed | TestStatus::Error | TestStatus::Skipped))
}

/// `get_eval_tests_report` (without the FAIL_TO_FAIL / PASS_TO_FAIL extras, which upstream leaves empty too).
pub fn tests_status(
    statuses: &StatusMap,
    fail_to_pass: &[String],
    pass_to_pass: &[String],
    eval_type: EvalType,
) -> TestsStatus {
    let judge = |cases: &[String], passes: fn(Option<&TestStatus>) -> bool| {
        let mut result = SuccessFailure::default();
        for case in cases {
            match eval_type {
                EvalType::PassAndFail => {
                    let status = resolve_case(case, statuses);
                    if passes(status) {
                        result.success.push(case.clone());
                    } else if test_failed(status) {
                        result.failure.push(case.clone());
                    }
                }
                EvalType::FailOnly => {
                    if statuses.get(case.as_str()) == Some(&TestStatus::Failed) {
                        result.failure.push(case.clone());
                    } else {
                        result.success.push(case.clone());
                    }
                }
            }
        }
        result
    };
    TestsStatus {
        fail_to_pass: judge(fail_to_pass, test_passed),
        pass_to_pass: judge(pass_to_pass, test_maintained),
        fail_to_fail: SuccessFailure::default(),
        pass_to_fail: SuccessFailure::default(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResolvedStatus {
    #[serde(rename = "RESOLVED_FULL")]
    Full,
    /// Some but not all FAIL_TO_PASS pass and PASS_TO_PASS all pass; reported, but counts as unresolved.
    #[serde(rename = "RESOLVED_PARTIAL")]
    Partial,
    #[serde(rename = "RESOLVED_NO")]
    No,
}

impl TestsStatus {
    /// `f2p = success / (success + failure)`, 1 when both are empty.
    pub fn fail_to_pass_rate(&self) -> f64 {
        rate(&self.fail_to_pass)
    }

    pub fn pass_to_pass_rate(&self) -> f64 {
        rate(&self.pass_to_pass)
    }

    /// FULL iff f2p == 1 and p2p == 1; PARTIAL iff 0 < f2p < 1 and p2p == 1.
    pub fn resolution(&self) -> ResolvedStatus {
        let p2p_full = self.pass_to_pass.failure.is_empty();
        let f2p = &self.fail_to_pass;
        match (f2p.failure.is_empty(), f2p.success.is_empty()) {
            (true, _) if p2p_full => ResolvedStatus::Full,
            (false, false) if p2p_full => ResolvedStatus::Partial,
            _ => ResolvedStatus::No,
        }
    }
}

fn rate(counts: &SuccessFailure) -> f64 {
    let total = counts.success.len() + counts.failure.len();
    if total == 0 { 1.0 } else { counts.success.len() as f64 / total as f64 }
}

/// `classify_logs` (`infra_failure.py`): an advisory reason a run produced no usable results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfraFailure {
    pub reason: &'static str,
    /// `true`: cannot plausibly come from the patch ("environment" tier); `false`: "ambiguous".
    pub environment: bool,
}

static INFRA_SIGNATURES: LazyLock<Vec<(&'static str, bool, Regex)>> = LazyLock::new(|| {
    [
        ("browser_launch_failed", true, r"Failed to launch|Failed to connect to the bus"),
        ("display_unavailable", true, r"cannot open display|Missing X server|unable to open X display"),
        ("out_of_memory", true, r"Cannot allocate memory|OutOfMemoryError|^Killed$"),
        ("container_unavailable", true, r"Error response from daemon|Cannot connect to the Docker daemon"),
        ("network_unreachable", true, r"Could not resolve host|Temporary failure in name resolution"),
        ("missing_module", false, r"Cannot find module|MODULE_NOT_FOUND|ModuleNotFoundError"),
        ("no_tests_collected", false, r"no tests ran|collected 0 items"),
        ("tests_timed_out", false, r"Timeout error: \d+ seconds exceeded"),
    ]
    .into_iter()
    .map(|(reason, environment, pattern)| (reason, environment, compile(&format!("(?m){pattern}"))))
    .collect()
});

/// The first matching signature in `text` (the logs joined with newlines), if any.
pub fn classify_infra_failure(text: &str) -> Option<InfraFailure> {
    INFRA_SIGNATURES
        .iter()
        .find(|(_, _, pattern)| pattern.is_match(text))
        .map(|(reason, environment, _)| InfraFailure { reason, environment: *environment })
}

#[cfg(test)]
#[path = "grading_tests.rs"]
mod tests;
