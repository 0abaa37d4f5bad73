//! Repair, as in Agentless v1.5: for each location sample, the code around its edit locations is shown to the
//! model with the issue; one greedy answer and `samples - 1` sampled ones come back as *SEARCH/REPLACE* edits,
//! which are applied inside the shown code, syntax-gated, diffed and normalized into [`Candidate`]s.
//!
//! Every sample becomes a candidate, kept (`ok`) or not, with the reason in [`Candidate::status`] and
//! [`Candidate::detail`]. When the budget runs out, the candidates finished so far are returned with
//! [`RepairOutput::stopped`] set; any other model error is a [`RepairError`].

pub mod apply;
pub mod candidate;
pub mod context;
pub mod diff;
pub mod edits;
pub mod patch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agentless_candidate::{CandidateId, Patch};
use agentless_localize::answers::FileLocs;
use agentless_localize::{Issue, Locations};
use agentless_model::{ChatRequest, Completion, LanguageModel, ModelError, Usage};
use agentless_prompts::{PromptError, Template};
use agentless_syntax::{RepoSnapshot, SourceError, SourceKind};
use serde::{Deserialize, Serialize};

pub use apply::MatchRule;
pub use candidate::{
    CandidateStatus, EditRules, Evaluation, SyntaxGate, UnmatchedEdits, evaluate_answer, evaluate_answer_with,
    normalized_patch,
};
pub use context::{RepairContext, ShownFile};

/// The stage every repair request names.
pub const STAGE: &str = "repair";

/// How many answers to sample and how much code to show.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairOptions {
    /// Answers per location sample: one greedy, the rest at `temperature`.
    pub samples: u32,
    pub temperature: f32,
    /// How many of the found files may be shown.
    pub top_n: usize,
    /// Lines shown on each side of an edit location.
    pub context_window: usize,
    pub max_tokens: u32,
    /// How edits are applied and gated (the original's rules by default).
    pub edits: EditRules,
}

impl Default for RepairOptions {
    fn default() -> Self {
        Self {
            samples: 10,
            temperature: 0.8,
            top_n: 3,
            context_window: 10,
            max_tokens: 1024,
            edits: EditRules::default(),
        }
    }
}

/// One sampled answer and what became of it; a line of `candidates.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Which location sample the shown code came from and which answer this is (sample 0 is the greedy one).
    pub id: CandidateId,
    pub instance_id: String,
    pub temperature: f32,
    /// The patch to evaluate (`None` unless `status` is `ok`).
    pub model_patch: Option<Patch>,
    /// The diff of the normalized files, the key for deduplication and voting (`None` unless `ok`, and for a kept
    /// change that normalizing erases, such as one to comments only).
    pub normalized_patch: Option<Patch>,
    /// The diff the edits produced, also when the candidate was thrown away for its syntax or whitespace.
    pub raw_patch: Option<Patch>,
    pub raw_output: String,
    pub edited_files: Vec<String>,
    pub status: CandidateStatus,
    /// Why the candidate was thrown away.
    pub detail: Option<String>,
    /// The match rule of every applied edit.
    pub match_rules: Vec<MatchRule>,
    /// The usage and cost of the request this answer came from, carried by its first answer only (the other
    /// answers of a request carry zeros), so sums over candidates are exact.
    pub usage: Usage,
    pub cost_usd: f64,
    pub from_cache: bool,
}

/// Every candidate of one issue, in location-sample order, greedy answer first.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairOutput {
    pub candidates: Vec<Candidate>,
    /// Why sampling stopped early (the budget ran out).
    pub stopped: Option<String>,
}

/// Figures over a set of candidates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepairSummary {
    pub samples: usize,
    /// Candidates whose edits all applied (`ok`, `syntax_error` and `whitespace_only`).
    pub applied: usize,
    pub kept: usize,
    pub syntax_errors: usize,
    pub empty: usize,
    /// Distinct normalized patches among the kept candidates.
    pub distinct_normalized: usize,
    pub by_status: BTreeMap<CandidateStatus, usize>,
    pub usage: Usage,
    pub cost_usd: f64,
}

impl RepairSummary {
    pub fn of(candidates: &[Candidate]) -> Self {
        let mut summary = Self { samples: candidates.len(), ..Self::default() };
        let mut distinct = BTreeSet::new();
        for candidate in candidates {
            *summary.by_status.entry(candidate.status).or_default() += 1;
            summary.usage += candidate.usage;
            summary.cost_usd += candidate.cost_usd;
            match candidate.status {
                CandidateStatus::Ok => {
                    summary.applied += 1;
                    summary.kept += 1;
                    if let Some(normalized) = &candidate.normalized_patch {
                        distinct.insert(normalized);
                    }
                }
                CandidateStatus::SyntaxError => {
                    summary.applied += 1;
                    summary.syntax_errors += 1;
                }
                CandidateStatus::WhitespaceOnly => summary.applied += 1,
                CandidateStatus::Empty => summary.empty += 1,
                CandidateStatus::NoEdits
                | CandidateStatus::SearchNotFound
                | CandidateStatus::OutsideContext
                | CandidateStatus::EscapesRepo => {}
            }
        }
        summary.distinct_normalized = distinct.len();
        summary
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error("cannot read the repository")]
    Source(#[from] SourceError),
    #[error("the repair request for location sample {location_sample} failed")]
    Model {
        location_sample: usize,
        #[source]
        source: ModelError,
    },
    #[error("cannot write or read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line} of `{}` is not a candidate", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// Samples repairs for every location sample of `locations` (concurrently; each sample sends its greedy
/// request, then its sampled one).
pub async fn repair(
    model: &dyn LanguageModel,
    snapshot: &RepoSnapshot,
    issue: &Issue,
    locations: &Locations,
    options: &RepairOptions,
) -> Result<RepairOutput, RepairError> {
    let system = Template::System.render(&[])?;
    let repo_root = match snapshot.kind() {
        SourceKind::WorkTree | SourceKind::Folder => Some(snapshot.root()),
        SourceKind::GitRevision => None,
    };
    let job = SampleJob { model, snapshot, issue, locations, options, system: &system, repo_root };
    let no_locations = FileLocs::default();
    let location_samples: Vec<&FileLocs> = match locations.found_edit_locs.is_empty() {
        true => vec![&no_locations],
        false => locations.found_edit_locs.iter().collect(),
    };
    let runs = location_samples.into_iter().enumerate().map(|(index, locs)| job.run(index, locs));
    let mut output = RepairOutput { candidates: Vec::new(), stopped: None };
    for result in futures::future::join_all(runs).await {
        let sample = result?;
        output.candidates.extend(sample.candidates);
        if output.stopped.is_none() {
            output.stopped = sample.stopped;
        }
    }
    Ok(output)
}

/// What every location sample shares.
struct SampleJob<'a> {
    model: &'a dyn LanguageModel,
    snapshot: &'a RepoSnapshot,
    issue: &'a Issue,
    locations: &'a Locations,
    options: &'a RepairOptions,
    system: &'a str,
    repo_root: Option<&'a Path>,
}

impl SampleJob<'_> {
    async fn run(&self, location_sample: usize, locs: &FileLocs) -> Result<RepairOutput, RepairError> {
        let options = self.options;
        let context = RepairContext::build(
            self.snapshot,
            &self.locations.found_files,
            locs,
            options.top_n,
            options.context_window,
        )?;
        let mut output = RepairOutput { candidates: Vec::new(), stopped: None };
        if context.is_empty() {
            let mut candidate = self.candidate(CandidateId::new(location_sample, 0), 0.0, String::new(), &context);
            candidate.detail = Some("no edit location of this sample resolves to code in the top files".to_owned());
            output.candidates.push(candidate);
            return Ok(output);
        }
        let content = context.render();
        let prompt = Template::Repair
            .render(&[("problem_statement", self.issue.text.as_str()), ("content", content.as_str())])?;
        let requests = [(0.0, options.samples.min(1)), (options.temperature, options.samples.saturating_sub(1))];
        for (temperature, samples) in requests.into_iter().filter(|&(_, samples)| samples > 0) {
            let request = ChatRequest {
                stage: STAGE.to_owned(),
                system: self.system.to_owned(),
                prompt: prompt.clone(),
                temperature,
                max_tokens: options.max_tokens,
                samples,
                // Location samples that show the same code must still get their own samples.
                sample_key: if temperature > 0.0 { u32::try_from(location_sample).unwrap_or(u32::MAX) } else { 0 },
            };
            let completion = match self.model.complete(&request).await {
                Ok(completion) => completion,
                Err(error) => {
                    let reason =
                        error.into_stop_reason().map_err(|source| RepairError::Model { location_sample, source })?;
                    output.stopped = Some(reason);
                    break;
                }
            };
            self.add_answers(&mut output, location_sample, temperature, completion, &context);
        }
        Ok(output)
    }

    fn add_answers(
        &self,
        output: &mut RepairOutput,
        location_sample: usize,
        temperature: f32,
        completion: Completion,
        context: &RepairContext,
    ) {
        for (position, answer) in completion.samples.into_iter().enumerate() {
            let id = CandidateId::new(location_sample, output.candidates.len());
            let mut candidate = self.candidate(id, temperature, answer, context);
            candidate.from_cache = completion.from_cache;
            if position == 0 {
                candidate.usage = completion.usage;
                candidate.cost_usd = completion.cost_usd;
            }
            output.candidates.push(candidate);
        }
    }

    fn candidate(&self, id: CandidateId, temperature: f32, raw_output: String, context: &RepairContext) -> Candidate {
        let evaluation = evaluate_answer_with(&raw_output, context, self.repo_root, &self.options.edits);
        Candidate {
            id,
            instance_id: self.issue.id.clone(),
            temperature,
            model_patch: evaluation.model_patch,
            normalized_patch: evaluation.normalized_patch,
            raw_patch: evaluation.raw_patch,
            raw_output,
            edited_files: evaluation.edited_files,
            status: evaluation.status,
            detail: evaluation.detail,
            match_rules: evaluation.match_rules,
            usage: Usage::default(),
            cost_usd: 0.0,
            from_cache: false,
        }
    }
}

/// Writes one JSON line per candidate.
pub fn write_candidates(path: &Path, candidates: &[Candidate]) -> Result<(), RepairError> {
    let mut out = String::new();
    for candidate in candidates {
        let line = serde_json::to_string(candidate).map_err(|source| RepairError::Json {
            path: path.to_owned(),
            line: out.lines().count() + 1,
            source,
        })?;
        out.push_str(&line);
        out.push('\n');
    }
    fs_err::write(path, out).map_err(|source| RepairError::Io { path: path.to_owned(), source })
}

/// Reads a `candidates.jsonl` written by [`write_candidates`] (blank lines skipped).
pub fn read_candidates(path: &Path) -> Result<Vec<Candidate>, RepairError> {
    let text = fs_err::read_to_string(path).map_err(|source| RepairError::Io { path: path.to_owned(), source })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| RepairError::Json {
                path: path.to_owned(),
                line: index + 1,
                source,
            })
        })
        .collect()
}
