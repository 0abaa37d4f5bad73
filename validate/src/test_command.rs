//! Which command runs a project's tests, and how to read its output into per-test results.

use std::collections::BTreeMap;

use agentless_testlog::{LogParser, TestStatus, parse_unittest};
use serde::{Deserialize, Serialize};

/// How the output of the test command is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultFormat {
    /// One of the parsers SWE-bench grades with: pytest's `-rA` summary (as `parse_log_pytest_v2` reads it, colours,
    /// spaces in parameters and all), Django's `runtests.py --verbosity 2`, sympy's `bin/test --verbose`, Sphinx's
    /// pytest under tox.
    Log(LogParser),
    /// `python -m unittest -v` (`test_x (module.Class) ... ok`), robust to a test's stderr before its verdict.
    Unittest,
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
    /// A command the user gave: pytest commands are read as pytest (with `-rA` added when missing), Django's,
    /// sympy's and unittest's runners and tox (Sphinx runs pytest under it) by their own output, anything else by
    /// exit code.
    pub fn from_user(shell: &str) -> Self {
        let trimmed = shell.trim();
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let runs = |program: &str| words.iter().any(|word| *word == program || word.ends_with(&format!("/{program}")));
        let is_pytest = runs("pytest") || trimmed.contains("-m pytest");
        if is_pytest {
            let shell = if trimmed.contains("-rA") { trimmed.to_owned() } else { format!("{trimmed} -rA") };
            return Self { shell, format: ResultFormat::Log(LogParser::PytestV2) };
        }
        let format = if runs("runtests.py") {
            ResultFormat::Log(LogParser::Django)
        } else if words.iter().any(|word| *word == "bin/test" || *word == "./bin/test") {
            ResultFormat::Log(LogParser::Sympy)
        } else if runs("tox") {
            ResultFormat::Log(LogParser::PytestV2)
        } else if trimmed.contains("unittest") {
            ResultFormat::Unittest
        } else {
            ResultFormat::ExitCode
        };
        Self { shell: trimmed.to_owned(), format }
    }

    /// Detect the runner from the repository's files: Django's `tests/runtests.py`, then pytest (configured or
    /// with `test_*.py` files), else a plain `python -m unittest discover -v`.
    pub fn detect(files: &[String]) -> Self {
        let has = |path: &str| files.iter().any(|file| file == path);
        if has("tests/runtests.py") {
            return Self {
                shell: "python tests/runtests.py --verbosity 2 --parallel 1".to_owned(),
                format: ResultFormat::Log(LogParser::Django),
            };
        }
        let has_tests = files.iter().any(|file| {
            let name = file.rsplit('/').next().unwrap_or(file);
            (name.starts_with("test_") && name.ends_with(".py")) || name.ends_with("_test.py") || name == "conftest.py"
        });
        if has_tests || has("pytest.ini") {
            return Self {
                shell: "python -m pytest -rA -p no:cacheprovider -q".to_owned(),
                format: ResultFormat::Log(LogParser::PytestV2),
            };
        }
        Self { shell: "python -m unittest discover -v".to_owned(), format: ResultFormat::Unittest }
    }

    /// Read the output of one run into per-test statuses.
    pub fn parse(&self, output: &str, exit_code: i32) -> BTreeMap<String, TestStatus> {
        match self.format {
            ResultFormat::Log(parser) => parser.parse(output).into_iter().collect(),
            ResultFormat::Unittest => parse_unittest(output).into_iter().collect(),
            ResultFormat::ExitCode => {
                let status = if exit_code == 0 { TestStatus::Passed } else { TestStatus::Failed };
                BTreeMap::from([(self.shell.clone(), status)])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_summary_lines_are_read_as_the_grader_reads_them() {
        let output = "\
============ short test summary info ============
PASSED tests/test_money.py::test_add
FAILED tests/test_money.py::test_round - AssertionError: assert 1 == 2
ERROR tests/test_io.py::test_open
SKIPPED [1] tests/test_x.py:3: no network
XFAIL tests/test_money.py::test_future
PASSED tests/test_p.py::test_param[a b]
\u{1b}[32mPASSED\u{1b}[0m tests/test_c.py::test_colour
";
        let results = TestCommand::detect(&["tests/test_money.py".into()]).parse(output, 1);
        let expected = BTreeMap::from([
            ("tests/test_money.py::test_add".to_owned(), TestStatus::Passed),
            ("tests/test_money.py::test_round".to_owned(), TestStatus::Failed),
            ("tests/test_io.py::test_open".to_owned(), TestStatus::Error),
            ("tests/test_money.py::test_future".to_owned(), TestStatus::Xfail),
            ("tests/test_p.py::test_param[a b]".to_owned(), TestStatus::Passed),
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
        assert_eq!(command.format, ResultFormat::Log(LogParser::Django));
        let results = command.parse(output, 1);
        assert_eq!(results.len(), 4);
        assert_eq!(results["test_round (money.tests.MoneyTests)"], TestStatus::Failed);
        assert_eq!(results["test_skip (money.tests.MoneyTests)"], TestStatus::Skipped);
    }

    #[test]
    fn sympy_and_sphinx_runners_are_read_per_test() {
        let sympy = TestCommand::from_user(
            "PYTHONWARNINGS='ignore::UserWarning' bin/test -C --verbose sympy/core/tests/test_basic.py",
        );
        assert_eq!(sympy.format, ResultFormat::Log(LogParser::Sympy));
        let results = sympy.parse("test_subs ok\ntest_atoms F\n", 1);
        assert_eq!(
            results,
            BTreeMap::from([
                ("test_atoms".to_owned(), TestStatus::Failed),
                ("test_subs".to_owned(), TestStatus::Passed)
            ])
        );
        let sphinx = TestCommand::from_user(
            "PYTHONUSERBASE=\"$VIRTUAL_ENV\" tox --current-env -epy39 -v -- tests/test_build.py",
        );
        assert_eq!(sphinx.format, ResultFormat::Log(LogParser::PytestV2));
        let results = sphinx.parse("py39: commands[0]> python -X dev -m pytest -rA tests/test_build.py\nPASSED tests/test_build.py::test_html\n", 0);
        assert_eq!(results, BTreeMap::from([("tests/test_build.py::test_html".to_owned(), TestStatus::Passed)]));
    }

    #[test]
    fn unittest_is_read_per_test_through_interleaved_stderr() {
        let command = TestCommand::from_user("python -m unittest -v");
        assert_eq!(command.format, ResultFormat::Unittest);
        assert_eq!(TestCommand::detect(&["setup.py".into()]).format, ResultFormat::Unittest);
        let output = "test_x (mod.Class) ... /path/x.py:3: ResourceWarning: unclosed file\n  open(p)\nok\n";
        assert_eq!(command.parse(output, 0), BTreeMap::from([("test_x (mod.Class)".to_owned(), TestStatus::Passed)]));
    }

    #[test]
    fn user_commands() {
        assert_eq!(TestCommand::from_user("pytest tests").shell, "pytest tests -rA");
        assert_eq!(TestCommand::from_user("make check").format, ResultFormat::ExitCode);
        assert_eq!(
            TestCommand::from_user("./tests/runtests.py --verbosity 2").format,
            ResultFormat::Log(LogParser::Django)
        );
        let results = TestCommand::from_user("make check").parse("", 2);
        assert_eq!(results["make check"], TestStatus::Failed);
    }
}
