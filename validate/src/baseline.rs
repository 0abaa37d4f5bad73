//! The health of the test run on the original code: whether its tests collected and ran, and if not, why — so a
//! validation without regression tests says so instead of passing for one that found none broken.

use std::collections::BTreeMap;
use std::fmt;

use agentless_testlog::TestStatus;
use serde::{Deserialize, Serialize};

use crate::test_command::{ResultFormat, TestCommand};
use agentless_sandbox::ExecOutput;

/// How the test command fared on the original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineHealth {
    pub exit_code: i32,
    pub tests_passed: usize,
    /// Tests that FAILED or ERRORED.
    pub tests_failed: usize,
    /// Why the run cannot be trusted as a baseline; `None` when it ran and some test passed.
    pub problem: Option<BaselineProblem>,
}

/// Why the original's test run is no usable baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BaselineProblem {
    /// Test modules or a `conftest.py` failed to import or collect (pytest's `ERROR collecting`, an `ImportError`
    /// of a test module or conftest).
    CollectionErrors {
        /// The first one: where, and pytest's `E` line (`tests/test_a.py: ModuleNotFoundError: No module named
        /// 'yaml'`), when the output shows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first: Option<String>,
    },
    /// The runner stopped before running the tests (pytest's `Interrupted`, exit 2).
    Interrupted,
    /// No test ran (pytest's exit 5, or no result could be read from the output).
    NoTestsRan,
    /// Tests ran but none passed.
    NonePassed,
    /// The command itself failed: not found, a usage error, or it timed out.
    CommandFailed { cause: String },
}

impl fmt::Display for BaselineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaselineProblem::CollectionErrors { first: None } => write!(f, "the original's tests failed to collect"),
            BaselineProblem::CollectionErrors { first: Some(first) } => {
                write!(f, "the original's tests failed to collect: {first}")
            }
            BaselineProblem::Interrupted => write!(f, "the original's test run was interrupted"),
            BaselineProblem::NoTestsRan => write!(f, "no test ran on the original"),
            BaselineProblem::NonePassed => write!(f, "no test passed on the original"),
            BaselineProblem::CommandFailed { cause } => write!(f, "the test command failed on the original: {cause}"),
        }
    }
}

impl BaselineHealth {
    /// The health of the run on the original that produced `output`, read by `command` into `results`.
    pub fn of(command: &TestCommand, output: &ExecOutput, results: &BTreeMap<String, TestStatus>) -> Self {
        let tests_passed = results.values().filter(|status| **status == TestStatus::Passed).count();
        let tests_failed =
            results.values().filter(|status| matches!(status, TestStatus::Failed | TestStatus::Error)).count();
        let text = format!("{}\n{}", output.stdout, output.stderr);
        let pytest = matches!(command.format, ResultFormat::Log(_));
        let problem = if output.timed_out {
            Some(BaselineProblem::CommandFailed { cause: "it timed out".to_owned() })
        } else if output.exit_code == 126 || output.exit_code == 127 {
            Some(BaselineProblem::CommandFailed {
                cause: format!("the shell could not run it (exit {})", output.exit_code),
            })
        } else if text.contains("ERROR collecting")
            || text.contains("ImportError while importing test module")
            || text.contains(CONFTEST_IMPORT_ERROR)
        {
            Some(BaselineProblem::CollectionErrors { first: first_collection_error(&text) })
        } else if pytest && output.exit_code == 4 {
            Some(BaselineProblem::CommandFailed { cause: "a usage error (exit 4)".to_owned() })
        } else if text.contains("!!! Interrupted") || (pytest && output.exit_code == 2) {
            Some(BaselineProblem::Interrupted)
        } else if (pytest && output.exit_code == 5) || results.is_empty() {
            Some(BaselineProblem::NoTestsRan)
        } else if tests_passed == 0 {
            Some(BaselineProblem::NonePassed)
        } else {
            None
        };
        Self { exit_code: output.exit_code, tests_passed, tests_failed, problem }
    }
}

/// pytest's message when a `conftest.py` does not import (it then exits 4, as for a usage error).
const CONFTEST_IMPORT_ERROR: &str = "ImportError while loading conftest '";

/// The first collection error in pytest's output: the module (`ERROR collecting tests/test_a.py`, or the conftest's
/// first traceback frame) and the first `E   ` line after it.
fn first_collection_error(text: &str) -> Option<String> {
    let mut lines = text.lines();
    let mut conftest = false;
    let mut module = lines.by_ref().find_map(|line| {
        if let Some((_, rest)) = line.split_once("ERROR collecting ") {
            return Some(rest.trim().trim_end_matches('_').trim_end().to_owned());
        }
        let (_, rest) = line.split_once(CONFTEST_IMPORT_ERROR)?;
        conftest = true;
        Some(rest.trim_end_matches("'.").to_owned())
    })?;
    let mut error = None;
    for line in lines.take(200) {
        // The conftest's own frame (`tests/conftest.py:1: in <module>`) names it relative to the checkout.
        if conftest
            && let Some((path, _)) = line.split_once(':')
            && path.ends_with("conftest.py")
        {
            module = path.to_owned();
            conftest = false;
        }
        if let Some(found) = line.strip_prefix("E   ") {
            error = Some(found.trim().to_owned());
            break;
        }
    }
    Some(match error {
        Some(error) => format!("{module}: {error}"),
        None => module,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn output(exit_code: i32, stdout: &str) -> ExecOutput {
        ExecOutput {
            exit_code,
            stdout: stdout.to_owned(),
            stderr: String::new(),
            timed_out: false,
            truncated: false,
            duration: Duration::ZERO,
        }
    }

    fn health(exit_code: i32, stdout: &str) -> BaselineHealth {
        let command = TestCommand::from_user("pytest");
        let output = output(exit_code, stdout);
        let results = command.parse(stdout, exit_code);
        BaselineHealth::of(&command, &output, &results)
    }

    #[test]
    fn each_broken_baseline_names_its_cause() {
        let collecting = "ERROR collecting tests/test_a.py\nE   ModuleNotFoundError: No module named 'yaml'\n\
                          !!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n";
        let named = |first: &str| Some(BaselineProblem::CollectionErrors { first: Some(first.to_owned()) });
        assert_eq!(
            health(2, collecting).problem,
            named("tests/test_a.py: ModuleNotFoundError: No module named 'yaml'")
        );
        assert_eq!(health(2, "!!!!!!!! KeyboardInterrupt !!!!!!!!\n").problem, Some(BaselineProblem::Interrupted));
        assert_eq!(health(5, "no tests ran in 0.01s\n").problem, Some(BaselineProblem::NoTestsRan));
        assert_eq!(health(1, "FAILED tests/test_a.py::test_x - assert 0\n").problem, Some(BaselineProblem::NonePassed));
        assert!(matches!(health(127, "sh: pytest: not found\n").problem, Some(BaselineProblem::CommandFailed { .. })));
        let conftest = "ImportError while loading conftest '/tmp/sandbox/repo/tests/conftest.py'.\n\
                        tests/conftest.py:1: in <module>\n    import helpers\n\
                        E   ModuleNotFoundError: No module named 'helpers'\n";
        assert_eq!(
            health(4, conftest).problem,
            named("tests/conftest.py: ModuleNotFoundError: No module named 'helpers'")
        );
        let unnamed = "_____ ERROR collecting tests/test_b.py _____\nERROR tests/test_b.py\n";
        assert_eq!(health(2, unnamed).problem, named("tests/test_b.py"));
        let healthy = health(1, "PASSED tests/test_a.py::test_x\nFAILED tests/test_a.py::test_y - assert 0\n");
        assert_eq!(healthy, BaselineHealth { exit_code: 1, tests_passed: 1, tests_failed: 1, problem: None });
    }
}
