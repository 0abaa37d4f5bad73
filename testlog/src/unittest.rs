//! Python's unittest runner at verbosity 2 (`python -m unittest -v`), read per test even when a test's own stderr
//! lands between its name and its verdict (issue #14), and when Python < 3.11 prints no verdict for a test whose
//! subtests failed (the next test then follows on the same line, and only the failure summary names it).

use std::sync::LazyLock;

use regex::Regex;

use crate::{StatusMap, TestStatus, compile};

/// `name (module.Class)` (Python < 3.11) or `name (module.Class.name)`, optionally followed by a subtest's
/// parameters and, on the next line, the first line of the docstring, then ` ...`. A header starts a line (a
/// subtest's indented) or follows the ` ...` of a test that printed no verdict.
static TEST_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?m)(?:^[ \t]*| )(?P<id>\w+ \([\w.]+\))(?P<subtest> \([^\n]*?\))?(?:\n[^\n]*?)? \.\.\.")
});
/// The failure summary after the run: `FAIL: name (module.Class)` or `ERROR: …`, subtests included.
static SUMMARY_HEADER: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?m)^(?P<kind>FAIL|ERROR): (?P<id>\w+ \([\w.]+\))"));

/// What unittest writes after ` ... ` once a test is over, each followed by a newline (and `skipped 'reason'`).
const VERDICTS: [&str; 5] = ["ok", "FAIL", "ERROR", "expected failure", "unexpected success"];
const SKIPPED_VERDICT: &str = "skipped ";

fn verdict_status(verdict: &str) -> Option<TestStatus> {
    match verdict {
        "ok" => Some(TestStatus::Passed),
        "FAIL" => Some(TestStatus::Failed),
        "ERROR" => Some(TestStatus::Error),
        "expected failure" => Some(TestStatus::Xfail),
        "unexpected success" => Some(TestStatus::Xpass),
        _ => None,
    }
}
/// unittest's separators, written only after every test ran.
const SEPARATORS: [&str; 2] = ["=====", "-----"];

/// Test id (`name (module.Class)` as printed) → status. A test with a failing subtest is FAILED (or ERROR) even
/// when it printed `ok`.
pub fn parse_unittest(log: &str) -> StatusMap {
    let mut statuses = StatusMap::new();
    let headers: Vec<_> = TEST_HEADER.captures_iter(log).collect();
    for (index, header) in headers.iter().enumerate() {
        let (Some(whole), Some(id)) = (header.get(0), header.name("id")) else { continue };
        let end = headers.get(index + 1).and_then(|next| next.get(0)).map_or(log.len(), |next| next.start());
        let Some(status) = verdict(&log[whole.end()..end]) else { continue };
        if header.name("subtest").is_some() {
            if status.is_failure() {
                record_failure(&mut statuses, id.as_str(), status);
            }
        } else if !statuses.get(id.as_str()).is_some_and(TestStatus::is_failure) {
            statuses.insert(id.as_str().to_owned(), status);
        }
    }
    for summary in SUMMARY_HEADER.captures_iter(log) {
        let status = if &summary["kind"] == "FAIL" { TestStatus::Failed } else { TestStatus::Error };
        record_failure(&mut statuses, &summary["id"], status);
    }
    statuses
}

/// A failure wins over a pass, and the first failure over a later one.
fn record_failure(statuses: &mut StatusMap, id: &str, status: TestStatus) {
    if !statuses.get(id).is_some_and(TestStatus::is_failure) {
        statuses.insert(id.to_owned(), status);
    }
}

/// The verdict in what follows a test's ` ...`: the first line that is exactly one, else the last line before the
/// summary when it ends with one (stderr written without a final newline runs into the verdict).
fn verdict(after_header: &str) -> Option<TestStatus> {
    let lines: Vec<&str> = after_header
        .split('\n')
        .map(|line| line.trim_end_matches(['\r', ' ']))
        .take_while(|line| !SEPARATORS.iter().any(|separator| line.starts_with(separator)))
        .collect();
    let exact = |line: &str| {
        let line = line.trim_start_matches(' ');
        if line.starts_with(SKIPPED_VERDICT) {
            return Some(TestStatus::Skipped);
        }
        verdict_status(line)
    };
    lines.iter().find_map(|line| exact(line)).or_else(|| {
        let last = lines.iter().rev().find(|line| !line.trim().is_empty())?;
        VERDICTS.iter().find(|verdict| last.ends_with(*verdict)).and_then(|verdict| verdict_status(verdict))
    })
}

#[cfg(test)]
#[path = "unittest_tests.rs"]
mod tests;
