//! The Agentless selection rule (`rerank.py`): fewest regression failures, then the reproduction test, then a
//! majority vote over normalized patches with ties to the earliest sample.
//!
//! As in the original, a run without regression results still filters by the reproduction test (the original
//! counts 0 regressions for every sample then), and drops that filter when no candidate passes it.
//!
//! One deliberate difference: a candidate without a regression result counts as the worst, and the fewest
//! regressions are taken over non-empty candidates. The original counts a missing `report.json` (a patch that did
//! not apply, or an empty patch) as 0 failures and takes the minimum over every sample, empty ones included, so one
//! empty sample can turn the whole selection into a plain vote.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// What validation learned about one candidate, in the interleaved sample order the vote breaks ties by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    pub model_patch: String,
    pub normalized_patch: String,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// Index (in the evaluated order) of the first candidate with this normalized patch.
    pub first: usize,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Index of the chosen candidate (the first one with the winning normalized patch).
    pub chosen: Option<usize>,
    pub rule: SelectionRule,
    /// The smallest regression count among candidates with a result.
    pub min_regressions: Option<usize>,
    /// The indices that took part in the vote.
    pub eligible: Vec<usize>,
    /// Votes per distinct normalized patch among the eligible, most votes first.
    pub votes: Vec<Vote>,
}

pub fn select(candidates: &[Evaluated]) -> Selection {
    let non_empty: Vec<usize> =
        (0..candidates.len()).filter(|&index| !candidates[index].normalized_patch.trim().is_empty()).collect();
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

    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut votes: Vec<Vote> = Vec::new();
    for &index in &eligible {
        let key = candidates[index].normalized_patch.as_str();
        match first_of.get(key) {
            Some(&slot) => votes[slot].count += 1,
            None => {
                first_of.insert(key, votes.len());
                votes.push(Vote { first: index, count: 1 });
            }
        }
    }
    // Most votes first; ties to the earliest sample.
    votes.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.cmp(&b.first)));
    let chosen = votes.first().map(|vote| vote.first);
    let rule = if chosen.is_none() { SelectionRule::NoCandidate } else { rule };
    Selection { chosen, rule, min_regressions, eligible, votes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(normalized: &str, regressions: Option<usize>, reproduced: Option<bool>) -> Evaluated {
        Evaluated {
            model_patch: format!("raw {normalized}"),
            normalized_patch: normalized.to_owned(),
            regression_failures: regressions,
            reproduction_passed: reproduced,
        }
    }

    #[test]
    fn fewest_regressions_then_reproduction_then_vote() {
        let candidates = vec![
            candidate("a", Some(1), Some(true)),
            candidate("b", Some(0), Some(false)),
            candidate("c", Some(0), Some(true)),
            candidate("b", Some(0), Some(false)),
            candidate("c", Some(0), Some(true)),
            candidate("d", Some(0), Some(true)),
        ];
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::RegressionAndReproduction);
        assert_eq!(selection.chosen, Some(2));
        assert_eq!(selection.votes, vec![Vote { first: 2, count: 2 }, Vote { first: 5, count: 1 }]);
    }

    #[test]
    fn reproduction_dropped_when_none_passes() {
        let candidates = vec![
            candidate("a", Some(0), Some(false)),
            candidate("b", Some(0), Some(false)),
            candidate("b", Some(0), None),
        ];
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::RegressionOnly);
        assert_eq!(selection.chosen, Some(1));
    }

    #[test]
    fn no_result_counts_as_worst_not_zero() {
        let candidates = vec![candidate("broken", None, None), candidate("ok", Some(2), None)];
        assert_eq!(select(&candidates).chosen, Some(1));
    }

    #[test]
    fn the_fewest_regressions_are_taken_over_non_empty_candidates() {
        // The original takes the minimum over every sample: the empty one's 0 would leave no candidate, and its
        // fallback would vote "b" in over all non-empty patches, ignoring the reproduction test.
        let candidates = vec![
            candidate("", Some(0), None),
            candidate("a", Some(1), Some(true)),
            candidate("b", Some(1), Some(false)),
            candidate("b", Some(1), Some(false)),
        ];
        let selection = select(&candidates);
        assert_eq!(selection.min_regressions, Some(1));
        assert_eq!((selection.rule, selection.chosen), (SelectionRule::RegressionAndReproduction, Some(1)));
    }

    #[test]
    fn ties_go_to_the_earliest_sample() {
        let candidates = vec![candidate("x", Some(0), None), candidate("y", Some(0), None)];
        assert_eq!(select(&candidates).chosen, Some(0));
    }

    #[test]
    fn empty_patches_never_win() {
        let candidates = vec![candidate("", Some(0), Some(true)), candidate("  ", Some(0), None)];
        let selection = select(&candidates);
        assert_eq!(selection.chosen, None);
        assert_eq!(selection.rule, SelectionRule::NoCandidate);
    }

    #[test]
    fn without_regression_results_the_reproduction_test_still_filters() {
        let candidates = vec![
            candidate("x", None, Some(false)),
            candidate("x", None, Some(false)),
            candidate("y", None, Some(true)),
        ];
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::ReproductionOnly);
        assert_eq!(selection.chosen, Some(2), "the original votes only over reproduction passes when there are any");
        assert_eq!(selection.eligible, vec![2]);
    }

    #[test]
    fn vote_only_without_any_result() {
        let candidates = vec![candidate("x", None, None), candidate("y", None, None), candidate("y", None, None)];
        let selection = select(&candidates);
        assert_eq!(selection.rule, SelectionRule::VoteOnly);
        assert_eq!(selection.chosen, Some(1));
    }
}
