//! Which command runs a project's tests, and how to read its output into per-test results.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The outcome of one test as the runner reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TestStatus {
    Passed,
    Failed,
    Error,
    Skipped,
    Xfail,
    Xpass,
}

impl TestStatus {
    /// Passing as the regression check counts it on a candidate (an expected failure still "passes").
    pub fn is_pass(self) -> bool {
        match self {
            TestStatus::Passed | TestStatus::Xfail | TestStatus::Xpass => true,
            TestStatus::Failed | TestStatus::Error | TestStatus::Skipped => false,
        }
    }
}

/// How the output of the test command is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultFormat {
    /// pytest's `-rA` short summary (`PASSED a.py::t`, `FAILED a.py::t - msg`).
    PytestRa,
    /// Django's `runtests.py --verbosity 2` and `python -m unittest -v` (`test_x (module.Class) ... ok`).
    Django,
    /// Only the exit code: one pseudo-test named after the command.
    ExitCode,
}

/// The command that runs the tests and how to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCommand {
    /// Run through `sh -c` in the checkout, with the sandbox's Python first on `PATH`.
    pub shell: String,
    pub format: ResultFormat,
}

impl TestCommand {
    /// A command the user gave: pytest commands are read as pytest (with `-rA` added when missing), anything
    /// else by exit code.
    pub fn from_user(shell: &str) -> Self {
        let trimmed = shell.trim();
        let is_pytest = trimmed.starts_with("pytest") || trimmed.contains("-m pytest");
        if is_pytest {
            let shell = if trimmed.contains("-rA") { trimmed.to_owned() } else { format!("{trimmed} -rA") };
            return Self { shell, format: ResultFormat::PytestRa };
        }
        // Django's runner is unittest's: `-v`/`--verbosity 2` print the same `name ... ok` lines.
        if trimmed.contains("runtests.py") || trimmed.contains("unittest") {
            return Self { shell: trimmed.to_owned(), format: ResultFormat::Django };
        }
        Self { shell: trimmed.to_owned(), format: ResultFormat::ExitCode }
    }

    /// Detect the runner from the repository's files: Django's `tests/runtests.py`, then pytest (configured or
    /// with `test_*.py` files), else a plain `python -m unittest` read by exit code.
    pub fn detect(files: &[String]) -> Self {
        let has = |path: &str| files.iter().any(|file| file == path);
        if has("tests/runtests.py") {
            return Self {
                shell: "python tests/runtests.py --verbosity 2 --parallel 1".to_owned(),
                format: ResultFormat::Django,
            };
        }
        let has_tests = files.iter().any(|file| {
            let name = file.rsplit('/').next().unwrap_or(file);
            (name.starts_with("test_") && name.ends_with(".py")) || name.ends_with("_test.py") || name == "conftest.py"
        });
        if has_tests || has("pytest.ini") {
            return Self {
                shell: "python -m pytest -rA -p no:cacheprovider -q".to_owned(),
                format: ResultFormat::PytestRa,
            };
        }
        Self { shell: "python -m unittest discover".to_owned(), format: ResultFormat::ExitCode }
    }

    /// Read the output of one run into per-test statuses.
    pub fn parse(&self, output: &str, exit_code: i32) -> BTreeMap<String, TestStatus> {
        match self.format {
            ResultFormat::PytestRa => parse_pytest(output),
            ResultFormat::Django => parse_django(output),
            ResultFormat::ExitCode => {
                let status = if exit_code == 0 { TestStatus::Passed } else { TestStatus::Failed };
                BTreeMap::from([(self.shell.clone(), status)])
            }
        }
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// pytest `-rA` summary lines, as SWE-bench's `parse_log_pytest` reads them: the test name is the first
/// whitespace-separated token after the status.
fn parse_pytest(output: &str) -> BTreeMap<String, TestStatus> {
    let mut results = BTreeMap::new();
    for raw in output.lines() {
        let line = strip_ansi(raw);
        let line = line.trim();
        let Some((word, rest)) = line.split_once(' ') else { continue };
        let status = match word {
            "PASSED" => TestStatus::Passed,
            "FAILED" => TestStatus::Failed,
            "ERROR" => TestStatus::Error,
            "SKIPPED" => TestStatus::Skipped,
            "XFAIL" => TestStatus::Xfail,
            "XPASS" => TestStatus::Xpass,
            _ => continue,
        };
        // `SKIPPED [1] path:line: reason` names no test id.
        if status == TestStatus::Skipped && rest.starts_with('[') {
            continue;
        }
        let Some(name) = rest.split_whitespace().next() else { continue };
        if name.contains("::") || name.ends_with(".py") {
            results.insert(name.to_owned(), status);
        }
    }
    results
}

/// Django's verbosity-2 lines `test_x (module.Class) ... ok|FAIL|ERROR|skipped ...|expected failure`.
fn parse_django(output: &str) -> BTreeMap<String, TestStatus> {
    let mut results = BTreeMap::new();
    for raw in output.lines() {
        let line = strip_ansi(raw);
        let Some((name, verdict)) = line.rsplit_once(" ... ") else { continue };
        let verdict = verdict.trim();
        let status = if verdict == "ok" || verdict == "OK" {
            TestStatus::Passed
        } else if verdict.starts_with("skipped") || verdict.starts_with("skip") {
            TestStatus::Skipped
        } else if verdict == "FAIL" {
            TestStatus::Failed
        } else if verdict == "ERROR" {
            TestStatus::Error
        } else if verdict == "expected failure" {
            TestStatus::Xfail
        } else if verdict == "unexpected success" {
            TestStatus::Xpass
        } else {
            continue;
        };
        results.insert(name.trim().to_owned(), status);
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_summary_lines() {
        let output = "\
============ short test summary info ============
PASSED tests/test_money.py::test_add
FAILED tests/test_money.py::test_round - AssertionError: assert 1 == 2
ERROR tests/test_io.py::test_open
SKIPPED [1] tests/test_x.py:3: no network
XFAIL tests/test_money.py::test_future - reason
PASSED tests/test_p.py::test_param[a b]
\u{1b}[32mPASSED\u{1b}[0m tests/test_c.py::test_colour
";
        let results = TestCommand::detect(&["tests/test_money.py".into()]).parse(output, 1);
        let expected = BTreeMap::from([
            ("tests/test_money.py::test_add".to_owned(), TestStatus::Passed),
            ("tests/test_money.py::test_round".to_owned(), TestStatus::Failed),
            ("tests/test_io.py::test_open".to_owned(), TestStatus::Error),
            ("tests/test_money.py::test_future".to_owned(), TestStatus::Xfail),
            ("tests/test_p.py::test_param[a".to_owned(), TestStatus::Passed),
            ("tests/test_c.py::test_colour".to_owned(), TestStatus::Passed),
        ]);
        pretty_assertions::assert_eq!(results, expected);
    }

    #[test]
    fn django_lines() {
        let output = "\
test_add (money.tests.MoneyTests) ... ok
test_round (money.tests.MoneyTests) ... FAIL
test_skip (money.tests.MoneyTests) ... skipped 'no db'
test_err (money.tests.MoneyTests) ... ERROR
Ran 4 tests in 0.01s
";
        let command = TestCommand::detect(&["tests/runtests.py".into()]);
        assert_eq!(command.format, ResultFormat::Django);
        let results = command.parse(output, 1);
        assert_eq!(results.len(), 4);
        assert_eq!(results["test_round (money.tests.MoneyTests)"], TestStatus::Failed);
        assert_eq!(results["test_skip (money.tests.MoneyTests)"], TestStatus::Skipped);
    }

    #[test]
    fn user_commands() {
        assert_eq!(TestCommand::from_user("pytest tests").shell, "pytest tests -rA");
        assert_eq!(TestCommand::from_user("make check").format, ResultFormat::ExitCode);
        assert_eq!(TestCommand::from_user("python -m unittest -v").format, ResultFormat::Django);
        let results = TestCommand::from_user("make check").parse("", 2);
        assert_eq!(results["make check"], TestStatus::Failed);
    }
}
