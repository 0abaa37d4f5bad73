//! Test logs: one [`TestStatus`] and the parsers that read a Python test runner's output into per-test statuses —
//! SWE-bench's (pytest in its variants, Django, sympy's `bin/test`, seaborn, matplotlib) and unittest's.

mod status;
mod swebench_parsers;
mod unittest;

use regex::Regex;

pub use status::{StatusMap, TestStatus};
pub use swebench_parsers::{LogParser, UnknownLogParser};
pub use unittest::parse_unittest;

/// The patterns are constants checked by the tests; an invalid one would be a programming error caught there.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|error| unreachable!("invalid built-in regex {pattern}: {error}"))
}

/// Python's `str.split()` with no argument: runs of whitespace, where whitespace includes `\x1c`–`\x1f`.
fn py_split(text: &str) -> Vec<&str> {
    text.split(is_py_space).filter(|part| !part.is_empty()).collect()
}

fn is_py_space(character: char) -> bool {
    character.is_whitespace() || ('\x1c'..='\x1f').contains(&character)
}
