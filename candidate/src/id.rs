//! `CandidateId`: which location sample and which answer a candidate came from, written `L0.S3`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One candidate of one issue: the location sample whose code was shown, and the answer to it (0 is the greedy
/// one). Both count from 0. Serialized as its text form, `L{location_sample}.S{sample}`.
///
/// The order is the interleaved order the vote breaks ties by: sample 0 of every location sample, then sample 1,
/// and so on (`L0.S0 < L1.S0 < L0.S1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CandidateId {
    pub location_sample: usize,
    pub sample: usize,
}

impl CandidateId {
    pub fn new(location_sample: usize, sample: usize) -> Self {
        Self { location_sample, sample }
    }
}

impl Ord for CandidateId {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.sample, self.location_sample).cmp(&(other.sample, other.location_sample))
    }
}

impl PartialOrd for CandidateId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for CandidateId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "L{}.S{}", self.location_sample, self.sample)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a candidate id (`L<location sample>.S<sample>`, e.g. `L0.S3`)")]
pub struct ParseCandidateIdError {
    text: String,
}

impl FromStr for CandidateId {
    type Err = ParseCandidateIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |part: Option<&str>, prefix: char| {
            part.and_then(|part| part.strip_prefix(prefix))
                .filter(|digits| !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()))
                .and_then(|digits| digits.parse().ok())
        };
        let mut parts = text.split('.');
        match (number(parts.next(), 'L'), number(parts.next(), 'S'), parts.next()) {
            (Some(location_sample), Some(sample), None) => Ok(Self { location_sample, sample }),
            _ => Err(ParseCandidateIdError { text: text.to_owned() }),
        }
    }
}

impl TryFrom<String> for CandidateId {
    type Error = ParseCandidateIdError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<CandidateId> for String {
    fn from(id: CandidateId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn the_text_form_round_trips_through_json() {
        let id = CandidateId::new(2, 13);
        assert_eq!(id.to_string(), "L2.S13");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"L2.S13\"");
        assert_eq!(serde_json::from_str::<CandidateId>("\"L2.S13\"").unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for text in ["", "L1", "L1.S", "L.S1", "S1.L1", "L1.S2.S3", "L-1.S2", "L+1.S2", "l1.s2", "L1.S2 "] {
            assert!(text.parse::<CandidateId>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn the_order_is_interleaved_sample_first() {
        let mut ids = [CandidateId::new(0, 1), CandidateId::new(1, 0), CandidateId::new(0, 0), CandidateId::new(1, 1)];
        ids.sort();
        let text: Vec<String> = ids.iter().map(CandidateId::to_string).collect();
        assert_eq!(text, ["L0.S0", "L1.S0", "L0.S1", "L1.S1"]);
    }
}
