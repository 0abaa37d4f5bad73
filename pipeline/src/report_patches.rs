//! The distinct patches of a run, as the report shows them: candidates grouped by their normalized patch (the
//! vote key), with the votes and what validation found for each; the chosen one first, then by votes.

use agentless_candidate::{CandidateId, Patch};
use agentless_repair::Candidate;
use agentless_validate::ValidationReport;
use agentless_validate::reproduction::Verdict;
use serde::Serialize;

/// One distinct patch and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistinctPatch {
    /// The diff, as its representative candidate wrote it: the one the vote counts (else its first candidate).
    pub diff: Patch,
    /// The candidates that produced it (the same normalized patch), in vote order.
    pub candidates: Vec<CandidateId>,
    /// Votes among the eligible; 0 when none of its candidates took part in the vote.
    pub votes: usize,
    pub chosen: bool,
    /// Whether the representative's patch applies to the original (`None`: not tried).
    pub applied: Option<bool>,
    /// The regression tests that pass on the original and fail with the representative's patch, by name
    /// (`None`: not run).
    pub failing_regression_tests: Option<Vec<String>>,
    pub reproduction: Option<Verdict>,
    /// Why the representative's patch has no verdict: the sandbox failed on it twice, or validation could not run.
    pub no_verdict: Option<String>,
    /// The numbers `N` of the `logs/patch-N.log` files of its candidates (one per distinct raw patch).
    pub logs: Vec<usize>,
}

/// What makes two candidates the same patch: the normalized patch, or the raw one when normalizing erases the
/// change (such a candidate is run but takes no part in the vote).
#[derive(PartialEq)]
enum Identity<'a> {
    Normalized(&'a Patch),
    Raw(&'a Patch),
}

/// Every candidate with a patch, grouped by normalized patch: the chosen one first, then most votes, then the
/// earliest candidate.
pub fn distinct_patches(candidates: &[Candidate], validation: &ValidationReport) -> Vec<DistinctPatch> {
    let mut in_vote_order: Vec<&Candidate> = candidates.iter().collect();
    in_vote_order.sort_by_key(|candidate| candidate.id);
    let mut groups: Vec<(Identity<'_>, Vec<&Candidate>)> = Vec::new();
    for candidate in in_vote_order {
        let identity = match (&candidate.normalized_patch, &candidate.model_patch) {
            (Some(normalized), _) => Identity::Normalized(normalized),
            (None, Some(raw)) => Identity::Raw(raw),
            (None, None) => continue,
        };
        match groups.iter_mut().find(|(known, _)| *known == identity) {
            Some((_, members)) => members.push(candidate),
            None => groups.push((identity, vec![candidate])),
        }
    }
    let mut patches: Vec<DistinctPatch> =
        groups.into_iter().filter_map(|(_, members)| distinct_patch(&members, validation)).collect();
    patches.sort_by(|a, b| {
        b.chosen.cmp(&a.chosen).then(b.votes.cmp(&a.votes)).then(a.candidates.first().cmp(&b.candidates.first()))
    });
    patches
}

/// One group's section: the representative's results, the group's votes and its logs.
fn distinct_patch(members: &[&Candidate], validation: &ValidationReport) -> Option<DistinctPatch> {
    let selection = &validation.selection;
    let ids: Vec<CandidateId> = members.iter().map(|candidate| candidate.id).collect();
    let vote = selection.votes.iter().find(|vote| ids.contains(&vote.first));
    let representative_id = vote.map_or(*ids.first()?, |vote| vote.first);
    let representative = members.iter().find(|candidate| candidate.id == representative_id)?;
    let result = validation.result_of(representative_id).map(|(_, result)| result);
    let diff = result.map(|result| result.patch.clone()).or_else(|| representative.model_patch.clone())?;
    let mut logs: Vec<usize> =
        ids.iter().filter_map(|id| validation.result_of(*id)).map(|(slot, _)| slot + 1).collect();
    logs.sort_unstable();
    logs.dedup();
    Some(DistinctPatch {
        diff,
        votes: vote.map_or(0, |vote| vote.count),
        chosen: selection.chosen.is_some_and(|chosen| ids.contains(&chosen)),
        candidates: ids,
        applied: result.map(|result| result.applied),
        failing_regression_tests: result.and_then(|result| result.regression.as_ref()).map(|r| r.failing.clone()),
        reproduction: result.and_then(|result| result.reproduction),
        no_verdict: result.and_then(|result| result.error.clone()),
        logs,
    })
}
