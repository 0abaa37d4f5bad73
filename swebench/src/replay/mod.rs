//! Replaying a published Agentless run (issue #16): the original's per-stage files of each instance read into our
//! artifacts up to a chosen stage and written into the instance's run folder, so the pipeline goes on from the
//! next stage as it does on resume; and its `all_preds.jsonl` compared with our predictions ([`compare`]).

mod compare;
mod convert;
mod layout;
mod records;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use agentless_candidate::CandidateId;
use agentless_localize::Locations;
use agentless_pipeline::{PipelineError, RunDir};
use agentless_repair::Candidate;
use agentless_validate::regression::RegressionPlan;
use agentless_validate::test_command::TestCommand;
use agentless_validate::{CandidatePatch, RecordedResult};
use serde::{Deserialize, Serialize};

pub use compare::{Agreement, ComparedInstance, compare_predictions, read_predictions};

use layout::{Layout, LocationFiles};
use records::{LocRow, ProcessedRow, RegressionRow, ReproductionRow, SelectRegressionRow, read_rows, shown};

/// The last stage taken from the original run; ours run from the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayDepth {
    /// Its edit locations: our repair, validation and selection.
    Localize,
    /// Its candidate patches: our validation and selection.
    Repair,
    /// Its regression and reproduction results: our selection only.
    Validate,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: line {line}: {reason}", path.display())]
    Row { path: PathBuf, line: usize, reason: String },
    #[error("{}: {reason}", folder.display())]
    Layout { folder: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Instance { path: PathBuf, reason: String },
    #[error("{} has no row for {instance_id}", path.display())]
    MissingRow { path: PathBuf, instance_id: String },
    #[error(
        "{} was started {recorded}, not {wanted}: use another --out, or remove the folder to start over",
        run_dir.display()
    )]
    OtherRun { run_dir: PathBuf, recorded: String, wanted: String },
    #[error("cannot write the replayed artifacts")]
    Write(#[source] PipelineError),
}

/// One row of every file of one kind, by location sample and sample.
struct SampleRows<T> {
    id: CandidateId,
    path: PathBuf,
    rows: BTreeMap<String, T>,
}

/// A published run's files, read for the instances of one inference run.
pub struct AgentlessResults {
    root: PathBuf,
    depth: ReplayDepth,
    /// Per location sample (`loc_merged_{i}-{i}`), or one file of every sample.
    locations: Vec<(PathBuf, BTreeMap<String, LocRow>)>,
    locations_per_sample: bool,
    candidates: Vec<SampleRows<ProcessedRow>>,
    regression: Vec<SampleRows<RegressionRow>>,
    reproduction: Vec<SampleRows<ReproductionRow>>,
    kept_tests: Option<(PathBuf, BTreeMap<String, SelectRegressionRow>)>,
}

/// One instance's replayed artifacts.
#[derive(Debug, Clone)]
pub struct InstanceReplay {
    pub locations: Locations,
    /// Through repair and validate.
    pub candidates: Option<Vec<Candidate>>,
    /// Through validate: each candidate's recorded results.
    pub recorded: Option<BTreeMap<CandidateId, RecordedResult>>,
    /// The regression tests the original kept (`select_regression/output.jsonl`), when there.
    pub kept_tests: Option<Vec<String>>,
}

/// What a run folder was started from: written as `replay.json`, checked on resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReplayMarker {
    results: PathBuf,
    through: ReplayDepth,
}

impl ReplayMarker {
    const FILE: &'static str = "replay.json";

    fn describe(marker: Option<&Self>) -> String {
        match marker {
            Some(marker) => format!("replaying {} through {:?}", marker.results.display(), marker.through),
            None => "without a replay".to_owned(),
        }
    }
}

impl std::fmt::Debug for AgentlessResults {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AgentlessResults")
            .field("root", &self.root)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl AgentlessResults {
    /// The files under `root` (a results folder as README_swebench lays it out, e.g. `results/swe-bench-lite`)
    /// that replaying through `depth` needs, read for the instances in `wanted`. A missing or malformed file is an
    /// error here; an instance missing from a file is that instance's error ([`Self::instance`]).
    pub fn load(root: &Path, depth: ReplayDepth, wanted: &BTreeSet<String>) -> Result<Self, ReplayError> {
        let layout = Layout::discover(root, depth)?;
        let (location_paths, locations_per_sample) = match &layout.locations {
            LocationFiles::PerSample(paths) => (paths.clone(), true),
            LocationFiles::AllSamples(path) => (vec![path.clone()], false),
            LocationFiles::Absent => (Vec::new(), false),
        };
        let locations = location_paths
            .into_iter()
            .map(|path| read_rows(&path, Some(wanted)).map(|rows| (path, rows)))
            .collect::<Result<_, _>>()?;
        let per_sample = |name: fn(&Path, usize) -> PathBuf| -> Vec<(CandidateId, PathBuf)> {
            layout
                .repair_folders
                .iter()
                .enumerate()
                .flat_map(|(location, folder)| {
                    (0..layout.samples).map(move |sample| (CandidateId::new(location, sample), name(folder, sample)))
                })
                .collect()
        };
        fn read_all<T: serde::de::DeserializeOwned>(
            files: Vec<(CandidateId, PathBuf)>,
            wanted: &BTreeSet<String>,
        ) -> Result<Vec<SampleRows<T>>, ReplayError> {
            files
                .into_iter()
                .map(|(id, path)| read_rows(&path, Some(wanted)).map(|rows| SampleRows { id, path, rows }))
                .collect()
        }
        let wanted_files = |wanted_here: bool, name: fn(&Path, usize) -> PathBuf| {
            if wanted_here { per_sample(name) } else { Vec::new() }
        };
        Ok(Self {
            root: root.to_owned(),
            depth,
            locations,
            locations_per_sample,
            candidates: read_all(per_sample(layout::processed_file), wanted)?,
            regression: read_all(wanted_files(layout.regression_results, layout::regression_file), wanted)?,
            reproduction: read_all(wanted_files(layout.reproduction_results, layout::reproduction_file), wanted)?,
            kept_tests: match &layout.kept_tests {
                Some(path) if depth == ReplayDepth::Validate => Some((path.clone(), read_rows(path, Some(wanted))?)),
                Some(_) | None => None,
            },
        })
    }

    pub fn depth(&self) -> ReplayDepth {
        self.depth
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How many location samples and candidates per instance the run holds, for a person.
    pub fn describe(&self) -> String {
        let location_samples = match self.locations_per_sample {
            true => format!("{} location files", self.locations.len()),
            false if self.locations.is_empty() => "no location file".to_owned(),
            false => "one location file of every sample".to_owned(),
        };
        let results = [("regression", !self.regression.is_empty()), ("reproduction", !self.reproduction.is_empty())]
            .into_iter()
            .filter_map(|(kind, present)| present.then_some(kind))
            .collect::<Vec<_>>();
        format!(
            "replaying {} through {:?}: {location_samples}, {} candidate files, test results: {}",
            self.root.display(),
            self.depth,
            self.candidates.len(),
            if results.is_empty() { "none".to_owned() } else { results.join(" and ") }
        )
    }

    /// The instance's artifacts up to the replayed stage.
    pub fn instance(&self, instance_id: &str) -> Result<InstanceReplay, ReplayError> {
        let bad = |path: &Path, reason: String| ReplayError::Instance {
            path: shown(&self.root, path),
            reason: format!("instance {instance_id}: {reason}"),
        };
        let mut edit_samples = Vec::new();
        let mut first: Option<&LocRow> = None;
        for (path, rows) in &self.locations {
            let row = self.row_of(path, rows, instance_id)?;
            first.get_or_insert(row);
            let samples = match self.locations_per_sample {
                true => convert::one_sample(row).map(|locs| vec![locs]),
                false => convert::all_samples(row),
            };
            edit_samples.extend(samples.map_err(|reason| bad(path, reason))?);
        }
        let locations = match first {
            Some(first) => convert::locations(instance_id, first, edit_samples),
            None => Locations { instance_id: instance_id.to_owned(), ..Locations::default() },
        };
        let mut replay = InstanceReplay { locations, candidates: None, recorded: None, kept_tests: None };
        if self.depth == ReplayDepth::Localize {
            return Ok(replay);
        }
        let mut candidates = Vec::new();
        for file in &self.candidates {
            let row = self.row_of(&file.path, &file.rows, instance_id)?;
            let candidate =
                convert::candidate(instance_id, file.id, row.clone()).map_err(|reason| bad(&file.path, reason))?;
            candidates.push(candidate);
        }
        replay.candidates = Some(candidates);
        if self.depth == ReplayDepth::Repair {
            return Ok(replay);
        }
        let mut recorded: BTreeMap<CandidateId, RecordedResult> = BTreeMap::new();
        for file in &self.regression {
            let row = self.row_of(&file.path, &file.rows, instance_id)?;
            recorded.entry(file.id).or_default().regression_failing = row.regression.clone();
        }
        for file in &self.reproduction {
            let row = self.row_of(&file.path, &file.rows, instance_id)?;
            recorded.entry(file.id).or_default().reproduction_passed = row.reproduction;
        }
        replay.recorded = Some(recorded);
        if let Some((path, rows)) = &self.kept_tests {
            replay.kept_tests = Some(self.row_of(path, rows, instance_id)?.tests_passing_in_original_repo.clone());
        }
        Ok(replay)
    }

    /// The instance's row of the file at `path`; none is an error naming the file.
    fn row_of<'rows, T>(
        &self,
        path: &Path,
        rows: &'rows BTreeMap<String, T>,
        instance_id: &str,
    ) -> Result<&'rows T, ReplayError> {
        rows.get(instance_id).ok_or_else(|| ReplayError::MissingRow {
            path: shown(&self.root, path),
            instance_id: instance_id.to_owned(),
        })
    }

    /// Writes `replay`'s artifacts into `run_dir` (a new folder) as finished stages, with `replay.json` saying
    /// where they came from; a folder already started from the same replay is left as it is (the pipeline
    /// resumes it), one started otherwise is an error. `test_command` is what the original's regression results
    /// were run with (through validate).
    pub fn seed(
        &self,
        run_dir: &RunDir,
        replay: &InstanceReplay,
        test_command: TestCommand,
    ) -> Result<(), ReplayError> {
        let marker = ReplayMarker { results: self.root.clone(), through: self.depth };
        let marker_path = run_dir.path(ReplayMarker::FILE);
        let recorded: Option<ReplayMarker> = match fs_err::read_to_string(&marker_path) {
            Ok(text) => Some(serde_json::from_str(&text).map_err(|error| ReplayError::Row {
                path: marker_path.clone(),
                line: 1,
                reason: error.to_string(),
            })?),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(ReplayError::Read { path: marker_path, source }),
        };
        let started = run_dir.path(RunDir::LOCATIONS).is_file() || run_dir.path(RunDir::INPUTS).is_file();
        match recorded {
            Some(recorded) if recorded == marker => return Ok(()),
            Some(recorded) => {
                return Err(ReplayError::OtherRun {
                    run_dir: run_dir.root().to_owned(),
                    recorded: ReplayMarker::describe(Some(&recorded)),
                    wanted: ReplayMarker::describe(Some(&marker)),
                });
            }
            None if started => {
                return Err(ReplayError::OtherRun {
                    run_dir: run_dir.root().to_owned(),
                    recorded: ReplayMarker::describe(None),
                    wanted: ReplayMarker::describe(Some(&marker)),
                });
            }
            None => {}
        }
        run_dir.create().map_err(ReplayError::Write)?;
        run_dir.write_json(RunDir::LOCATIONS, &replay.locations).map_err(ReplayError::Write)?;
        if let Some(candidates) = &replay.candidates {
            run_dir.write_lines(RunDir::CANDIDATES, candidates).map_err(ReplayError::Write)?;
            if let Some(recorded) = &replay.recorded {
                let patches: Vec<CandidatePatch> = candidates
                    .iter()
                    .filter_map(|candidate| {
                        Some(CandidatePatch {
                            id: candidate.id,
                            model_patch: candidate.model_patch.clone()?,
                            normalized_patch: candidate.normalized_patch.clone(),
                        })
                    })
                    .collect();
                let regression = replay.kept_tests.as_ref().map(|kept| RegressionPlan {
                    command: Some(test_command.clone()),
                    passing: kept.clone(),
                    kept: kept.clone(),
                    ..RegressionPlan::default()
                });
                let source = format!("the original Agentless run in {}", self.root.display());
                let validation = agentless_validate::recorded(&patches, recorded, test_command, regression, &source);
                run_dir.write_json(RunDir::VALIDATION, &validation).map_err(ReplayError::Write)?;
            }
        }
        run_dir.write_json(ReplayMarker::FILE, &marker).map_err(ReplayError::Write)
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
