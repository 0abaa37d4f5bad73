//! From repair's candidates to what validation tests: the vote order and the patch of each candidate.

use agentless_repair::{Candidate, CandidateStatus};
use agentless_validate::CandidatePatch;

/// The candidates in the interleaved order the vote breaks ties by: sample 0 of every location sample, then 1, ...
pub fn vote_order(candidates: &[Candidate]) -> Vec<&Candidate> {
    let mut ordered: Vec<&Candidate> = candidates.iter().collect();
    ordered.sort_by_key(|candidate| (candidate.sample_index, candidate.location_sample));
    ordered
}

/// What validation tests of a candidate: its patches when it applied, nothing when it was thrown away.
pub fn candidate_patch(candidate: &Candidate) -> CandidatePatch {
    match candidate.status {
        CandidateStatus::Ok => CandidatePatch {
            model_patch: candidate.model_patch.clone(),
            normalized_patch: candidate.normalized_patch.clone(),
        },
        CandidateStatus::Empty
        | CandidateStatus::NoEdits
        | CandidateStatus::SearchNotFound
        | CandidateStatus::OutsideContext
        | CandidateStatus::EscapesRepo
        | CandidateStatus::SyntaxError
        | CandidateStatus::WhitespaceOnly => {
            CandidatePatch { model_patch: String::new(), normalized_patch: String::new() }
        }
    }
}
