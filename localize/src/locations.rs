//! What localization produces, in Agentless's `loc_outputs.jsonl` layout (same field names) plus our own fields:
//! the files of each source, the irrelevant folders, the resolved edit spans and why a run stopped early.

use agentless_model::Usage;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::answers::FileLocs;

/// `{file: [[start, end], …]}`: inclusive 1-based line spans, widened by the context window and merged.
pub type FileSpans = IndexMap<String, Vec<[usize; 2]>>;

/// One localization result. Fields named as in Agentless keep their meaning; `*_traj` entries also carry the
/// stage, temperature and cost, and list every attempt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Locations {
    pub instance_id: String,
    /// The combined files (model and retrieval voted together), at most `2 * top_n`.
    pub found_files: Vec<String>,
    pub additional_artifact_loc_file: Option<FileArtifact>,
    pub file_traj: Option<Trajectory>,
    /// `{file: ["class: A\nfunction: B.m"]}` for each of the top files (an empty string when none).
    pub found_related_locs: FileLocs,
    /// The raw answer of the last related-elements attempt.
    pub additional_artifact_loc_related: Vec<RelatedArtifact>,
    pub related_loc_traj: Vec<Trajectory>,
    /// One `{file: ["line: 12\nfunction: C.m"]}` per edit-location sample.
    pub found_edit_locs: Vec<FileLocs>,
    /// The raw answers of the last edit-location attempt.
    pub additional_artifact_loc_edit_location: Vec<EditArtifact>,
    pub edit_loc_traj: Vec<Trajectory>,
    /// The files the model named (real paths only, at most `max_model_files`).
    pub model_found_files: Vec<String>,
    /// The folder and file prefixes the model called irrelevant.
    pub irrelevant_folders: Vec<String>,
    pub irrelevant_traj: Option<Trajectory>,
    /// The files retrieval ranked, best first.
    pub retrieval_found_files: Vec<String>,
    /// Per edit sample, the spans its locations resolve to; files without a resolved location are left out.
    pub edit_spans: Vec<FileSpans>,
    /// Why the run stopped before the end (the budget ran out); what was found before is kept.
    pub stopped: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileArtifact {
    pub raw_output_files: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelatedArtifact {
    pub raw_output_loc: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EditArtifact {
    pub raw_output_loc: Vec<String>,
}

/// One request and its answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub stage: String,
    pub temperature: f32,
    pub prompt: String,
    /// One answer per sample.
    pub response: Vec<String>,
    pub usage: Usage,
    pub cost_usd: f64,
    pub from_cache: bool,
}
