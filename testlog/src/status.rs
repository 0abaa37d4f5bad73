//! The status of one test as a runner reported it, and the map of a whole log's statuses.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A test's status as a parser reported it. SWE-bench stores raw strings; a token that is none of the known
/// statuses (e.g. `XFAILED` from an old-style pytest line) is kept as [`TestStatus::Other`] and grades as neither
/// pass nor fail, as upstream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TestStatus {
    Passed,
    Failed,
    Skipped,
    Error,
    /// An expected failure that failed (pytest `XFAIL`, unittest `expected failure`).
    Xfail,
    /// An expected failure that passed (pytest `XPASS`, unittest `unexpected success`). SWE-bench's parsers never
    /// report it (its five statuses do not include it).
    Xpass,
    Other(String),
}

impl TestStatus {
    /// The five statuses SWE-bench's parsers recognise at the start or end of a line (`TestStatus` upstream).
    pub(crate) const SWEBENCH: [TestStatus; 5] =
        [TestStatus::Failed, TestStatus::Passed, TestStatus::Skipped, TestStatus::Error, TestStatus::Xfail];

    pub fn as_str(&self) -> &str {
        match self {
            TestStatus::Passed => "PASSED",
            TestStatus::Failed => "FAILED",
            TestStatus::Skipped => "SKIPPED",
            TestStatus::Error => "ERROR",
            TestStatus::Xfail => "XFAIL",
            TestStatus::Xpass => "XPASS",
            TestStatus::Other(text) => text,
        }
    }

    pub fn from_token(token: &str) -> Self {
        Self::SWEBENCH
            .into_iter()
            .chain([TestStatus::Xpass])
            .find(|known| known.as_str() == token)
            .unwrap_or_else(|| Self::Other(token.to_owned()))
    }

    /// PASSED or XFAIL: what SWE-bench's `test_passed` accepts.
    pub fn is_pass(&self) -> bool {
        matches!(self, TestStatus::Passed | TestStatus::Xfail)
    }

    /// FAILED or ERROR: a test that ran and did not pass (SWE-bench's failure check of a log).
    pub fn is_failure(&self) -> bool {
        matches!(self, TestStatus::Failed | TestStatus::Error)
    }
}

impl Serialize for TestStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TestStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_token(&String::deserialize(deserializer)?))
    }
}

/// Test name → status, in first-seen order (a later line updates the status in place, like a Python dict; the
/// order matters for the grader's prefix match, which takes the first candidate).
pub type StatusMap = IndexMap<String, TestStatus>;
