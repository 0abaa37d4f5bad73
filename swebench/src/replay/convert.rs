//! The original's rows turned into our typed artifacts: `Locations` from its location rows, a `Candidate` from a
//! processed repair row (location sample `k - 1` of `repair_sample_{k}`, sample `i` of `output_{i}_*` → `L{k-1}.S{i}`).

use agentless_candidate::{CandidateId, Patch};
use agentless_localize::Locations;
use agentless_localize::answers::FileLocs;
use agentless_model::Usage;
use agentless_repair::{Candidate, CandidateStatus, normalized_patch};

use super::records::{LocRow, ProcessedRow, RawEditLocs};

/// The sampling temperature of the documented run: sample 0 greedy, the others at 0.8 (README_swebench:200).
const SAMPLED_TEMPERATURE: f32 = 0.8;

/// One location sample's `found_edit_locs`, from a `loc_merged_{i}-{i}` row (a `{file: …}` object, or `[]`).
pub(crate) fn one_sample(row: &LocRow) -> Result<FileLocs, String> {
    match &row.found_edit_locs {
        RawEditLocs::One(locs) => Ok(locs.to_file_locs()),
        RawEditLocs::Samples(samples) if samples.is_empty() => Ok(FileLocs::default()),
        RawEditLocs::Samples(samples) => Err(format!(
            "found_edit_locs lists {} samples; a loc_merged_{{i}}-{{i}} row holds one sample's {{file: locations}}",
            samples.len()
        )),
    }
}

/// Every location sample's `found_edit_locs`, from an `edit_location_samples/loc_outputs.jsonl` row.
pub(crate) fn all_samples(row: &LocRow) -> Result<Vec<FileLocs>, String> {
    match &row.found_edit_locs {
        RawEditLocs::Samples(samples) => Ok(samples.iter().map(|locs| locs.to_file_locs()).collect()),
        RawEditLocs::One(_) => {
            Err("found_edit_locs is one {file: locations} object; loc_outputs.jsonl lists one per sample".to_owned())
        }
    }
}

/// Our `Locations` of one instance: the found files and related locations of `first` (every location file of an
/// instance carries the same), and the edit locations of each sample.
pub(crate) fn locations(instance_id: &str, first: &LocRow, edit_samples: Vec<FileLocs>) -> Locations {
    Locations {
        instance_id: instance_id.to_owned(),
        found_files: first.found_files.clone(),
        found_related_locs: first.found_related_locs.to_file_locs(),
        found_edit_locs: edit_samples,
        ..Locations::default()
    }
}

/// Our `Candidate` for the original's processed row `row`. The vote key is the original's `normalized_patch`
/// when the row has one (`output_{i}_normalized.jsonl`), else our normalization of its files before and after.
/// The original keeps no reason for a rejected sample: a diff it threw away is `syntax_error` when a new file
/// does not parse here, else `whitespace_only`; no diff at all is `empty` for the row of an instance it could not
/// repair (only `model_patch: ""`) and `no_edits` otherwise.
pub(crate) fn candidate(instance_id: &str, id: CandidateId, row: ProcessedRow) -> Result<Candidate, String> {
    let files = row.edited_files.len();
    if row.original_file_content.len() != files || row.new_file_content.len() != files {
        return Err(format!(
            "edited_files, original_file_content and new_file_content differ in length ({files}, {}, {})",
            row.original_file_content.len(),
            row.new_file_content.len()
        ));
    }
    let changes: Vec<(String, String, String)> = row
        .edited_files
        .iter()
        .zip(row.original_file_content)
        .zip(row.new_file_content)
        .map(|((path, old), new)| (path.clone(), old, new))
        .collect();
    let repaired = row.raw_model_patch.is_some();
    let model_patch = Patch::new(row.model_patch);
    let raw_patch = row.raw_model_patch.and_then(Patch::new);
    let status = match (&model_patch, &raw_patch) {
        (Some(_), _) => CandidateStatus::Ok,
        (None, Some(_))
            if changes
                .iter()
                .any(|(path, _, new)| path.ends_with(".py") && agentless_syntax::syntax_error_count(new) > 0) =>
        {
            CandidateStatus::SyntaxError
        }
        (None, Some(_)) => CandidateStatus::WhitespaceOnly,
        (None, None) if !repaired => CandidateStatus::Empty,
        (None, None) => CandidateStatus::NoEdits,
    };
    let normalized = match (&model_patch, row.normalized_patch) {
        (None, _) => None,
        (Some(_), Some(theirs)) => Patch::new(theirs.trim().to_owned()),
        (Some(_), None) => normalized_patch(&changes),
    };
    let detail = match status {
        CandidateStatus::Ok => None,
        _ => Some("rejected by the original Agentless run (its record says no more)".to_owned()),
    };
    Ok(Candidate {
        id,
        instance_id: instance_id.to_owned(),
        temperature: if id.sample == 0 { 0.0 } else { SAMPLED_TEMPERATURE },
        model_patch,
        normalized_patch: normalized,
        raw_patch,
        raw_output: String::new(),
        edited_files: changes.into_iter().map(|(path, _, _)| path).collect(),
        status,
        detail,
        match_rules: Vec::new(),
        usage: Usage::default(),
        cost_usd: 0.0,
        from_cache: false,
    })
}
