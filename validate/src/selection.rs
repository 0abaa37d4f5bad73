//! The Agentless selection rule (`rerank.py`): fewest regression failures, then the reproduction test, then a
//! majority vote over normalized patches with ties to the earliest sample (the smallest [`CandidateId`]).
//!
//! As in the original, a run without regression results still filters by the reproduction test (the original
//! counts 0 regressions for every sample then), and drops that filter when no candidate passes it.
//!
//! One deliberate difference: a candidate without a regression result counts as the worst, and the fewest
//! regressions are taken over non-empty candidates. The original counts a missing `report.json` (a patch that did
//! not apply, or an empty patch) as 0 failures and takes the minimum over every sample, empty ones included, so one
//! empty sample can turn the whole selection into a plain vote.

use std::collections::HashMap;

use agentless_candidate::{CandidateId, Patch};
use serde::{Deserialize, Serialize};

/// What validation learned about one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    pub id: CandidateId,
    /// The vote key; a candidate without one takes no part in selection.
    pub normalized_patch: Option<Patch>,
    /// Failing regression tests; `None` when the run produced no result (it then counts as the worst).
    pub regression_failures: Option<usize>,
    /// Whether the reproduction test says `Issue resolved` (`None`: no reproduction test was run).
    pub reproduction_passed: Option<bool>,
}

/// Which step of the rule chose the patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionRule {
    /// Fewest regressions and the reproduction test passes.
    RegressionAndReproduction,
    /// Fewest regressions; no candidate passed the reproduction test (or there was none).
    RegressionOnly,
    /// No candidate had a regression result; the reproduction test passed for the candidates voted over.
    ReproductionOnly,
    /// No candidate had a regression result and none passed a reproduction test: a vote over every non-empty
    /// candidate.
    VoteOnly,
    /// No non-empty candidate at all.
    NoCandidate,
}

/// The votes for one distinct normalized patch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The first candidate (in vote order) with this normalized patch: the one chosen if this patch wins.
    pub first: CandidateId,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The first candidate with the winning normalized patch.
    pub chosen: Option<CandidateId>,
    pub rule: SelectionRule,
    /// The smallest regression count among candidates with a result.
    pub min_regressions: Option<usize>,
    /// The candidates that took part in the vote, in vote order.
    pub eligible: Vec<CandidateId>,
    /// Votes per distinct normalized patch among the eligible, most votes first.
    pub votes: Vec<Vote>,
}

/// Selects among `evaluated`, in any order: ties go to the smallest id.
pub fn select(evaluated: &[Evaluated]) -> Selection {
    let mut candidates: Vec<&Evaluated> = evaluated.iter().collect();
    candidates.sort_by_key(|candidate| candidate.id);
    let non_empty: Vec<usize> =
        (0..candidates.len()).filter(|&index| candidates[index].normalized_patch.is_some()).collect();
    let worst = usize::MAX;
    let regressions = |index: usize| candidates[index].regression_failures.unwrap_or(worst);
    let min_regressions = non_empty.iter().filter_map(|&index| candidates[index].regression_failures).min();

    let (eligible, rule) = match min_regressions {
        Some(min) => {
            let fewest: Vec<usize> = non_empty.iter().copied().filter(|&index| regressions(index) == min).collect();
            let reproduced: Vec<usize> =
                fewest.iter().copied().filter(|&index| candidates[index].reproduction_passed == Some(true)).collect();
            if reproduced.is_empty() {
                (fewest, SelectionRule::RegressionOnly)
            } else {
                (reproduced, SelectionRule::RegressionAndReproduction)
            }
        }
        None if non_empty.is_empty() => (Vec::new(), SelectionRule::NoCandidate),
        None => {
            let reproduced: Vec<usize> = non_empty
                .iter()
                .copied()
                .filter(|&index| candidates[index].reproduction_passed == Some(true))
                .collect();
            if reproduced.is_empty() {
                (non_empty, SelectionRule::VoteOnly)
            } else {
                (reproduced, SelectionRule::ReproductionOnly)
            }
        }
    };

    let mut first_of: HashMap<&Patch, usize> = HashMap::new();
    let mut votes: Vec<Vote> = Vec::new();
    for &index in &eligible {
        let Some(key) = &candidates[index].normalized_patch else { continue };
        match first_of.get(key) {
            Some(&slot) => votes[slot].count += 1,
            None => {
                first_of.insert(key, votes.len());
                votes.push(Vote { first: candidates[index].id, count: 1 });
            }
        }
    }
    // Most votes first; ties to the earliest sample.
    votes.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.cmp(&b.first)));
    let chosen = votes.first().map(|vote| vote.first);
    let rule = if chosen.is_none() { SelectionRule::NoCandidate } else { rule };
    let eligible = eligible.into_iter().map(|index| candidates[index].id).collect();
    Selection { chosen, rule, min_regressions, eligible, votes }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Candidates `L0.S0`, `L0.S1`, … in the order given.
    fn numbered(candidates: Vec<(&str, Option<usize>, Option<bool>)>) -> Vec<Evaluated> {
        candidates
            .into_iter()
            .enumerate()
            .map(|(sample, (normalized, regressions, reproduced))| Evaluated {
                id: id(sample),
                normalized_patch: Patch::new(normalized.to_owned()),
                regression_failures: regressions,
                reproduction_passed: reproduced,
            })
            .collect()
    }

    fn id(sample: usize) -> CandidateId {
        CandidateId::new(0, sample)
    }

    #[test]
    fn fewest_regressions_then_reproduction_then_vote() {
        let candidates = numbered(vec![
            ("a", Some(1), Some(true)),
            ("b", Some(0), Some(false)),
            ("c", Some(0), Some(true)),
            ("b", Some(0), Some(false)),
            ("c", Some(0), Some(true)),
            ("d", Some(0), Some(true)),
        ]);
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::RegressionAndReproduction);
        assert_eq!(selection.chosen, Some(id(2)));
        assert_eq!(selection.votes, vec![Vote { first: id(2), count: 2 }, Vote { first: id(5), count: 1 }]);
    }

    #[test]
    fn reproduction_dropped_when_none_passes() {
        let candidates = numbered(vec![("a", Some(0), Some(false)), ("b", Some(0), Some(false)), ("b", Some(0), None)]);
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::RegressionOnly);
        assert_eq!(selection.chosen, Some(id(1)));
    }

    #[test]
    fn no_result_counts_as_worst_not_zero() {
        let candidates = numbered(vec![("broken", None, None), ("ok", Some(2), None)]);
        assert_eq!(select(&candidates).chosen, Some(id(1)));
    }

    #[test]
    fn the_fewest_regressions_are_taken_over_non_empty_candidates() {
        // The original takes the minimum over every sample: the empty one's 0 would leave no candidate, and its
        // fallback would vote "b" in over all non-empty patches, ignoring the reproduction test.
        let candidates = numbered(vec![
            ("", Some(0), None),
            ("a", Some(1), Some(true)),
            ("b", Some(1), Some(false)),
            ("b", Some(1), Some(false)),
        ]);
        let selection = select(&candidates);
        assert_eq!(selection.min_regressions, Some(1));
        assert_eq!((selection.rule, selection.chosen), (SelectionRule::RegressionAndReproduction, Some(id(1))));
    }

    #[test]
    fn ties_go_to_the_earliest_sample() {
        let candidates = numbered(vec![("x", Some(0), None), ("y", Some(0), None)]);
        assert_eq!(select(&candidates).chosen, Some(id(0)));
    }

    #[test]
    fn empty_patches_never_win() {
        let candidates = numbered(vec![("", Some(0), Some(true)), ("  ", Some(0), None)]);
        let selection = select(&candidates);
        assert_eq!(selection.chosen, None);
        assert_eq!(selection.rule, SelectionRule::NoCandidate);
    }

    #[test]
    fn without_regression_results_the_reproduction_test_still_filters() {
        let candidates = numbered(vec![("x", None, Some(false)), ("x", None, Some(false)), ("y", None, Some(true))]);
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::ReproductionOnly);
        assert_eq!(
            selection.chosen,
            Some(id(2)),
            "the original votes only over reproduction passes when there are any"
        );
        assert_eq!(selection.eligible, vec![id(2)]);
    }

    #[test]
    fn vote_only_without_any_result() {
        let candidates = numbered(vec![("x", None, None), ("y", None, None), ("y", None, None)]);
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::VoteOnly);
        assert_eq!(selection.chosen, Some(id(1)));
    }

    #[test]
    fn ties_go_to_the_smallest_id_whatever_the_input_order() {
        let evaluated = |location_sample, sample, normalized: &str| Evaluated {
            id: CandidateId::new(location_sample, sample),
            normalized_patch: Patch::new(normalized.to_owned()),
            regression_failures: Some(0),
            reproduction_passed: None,
        };
        // Sample 0 of every location sample comes before any sample 1: `L1.S0` is earlier than `L0.S1`.
        let candidates = vec![evaluated(0, 1, "x"), evaluated(1, 0, "y"), evaluated(0, 2, "x"), evaluated(1, 1, "y")];
        let selection = select(&candidates);
        assert_eq!(selection.chosen, Some(CandidateId::new(1, 0)));
        let eligible: Vec<String> = selection.eligible.iter().map(CandidateId::to_string).collect();
        assert_eq!(eligible, ["L1.S0", "L0.S1", "L1.S1", "L0.S2"]);
        assert_eq!(selection.votes[1], Vote { first: CandidateId::new(0, 1), count: 2 });
    }
}
