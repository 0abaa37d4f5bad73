//! Where a published Agentless run keeps each stage's files (the layout of its `README_swebench.md`, under one
//! results folder such as `results/swe-bench-lite`), found and checked before any instance runs.

use std::path::{Path, PathBuf};

use super::{ReplayDepth, ReplayError};

/// The location files: one per location sample, or one holding every sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocationFiles {
    /// `edit_location_individual/loc_merged_{i}-{i}_outputs.jsonl`, `i` from 0.
    PerSample(Vec<PathBuf>),
    /// `edit_location_samples/loc_outputs.jsonl`: `found_edit_locs` lists every sample.
    AllSamples(PathBuf),
    /// Neither (allowed when repair is replayed too: the report then shows no found files).
    Absent,
}

/// The files one replay reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub locations: LocationFiles,
    /// `repair_sample_{k}` folders, `k` from 1 (location sample `k - 1`).
    pub repair_folders: Vec<PathBuf>,
    /// Samples per repair folder (`output_{i}_processed.jsonl`, `i` from 0), the same in every folder.
    pub samples: usize,
    /// Regression and reproduction results exist for every sample of every folder.
    pub regression_results: bool,
    pub reproduction_results: bool,
    /// `select_regression/output.jsonl`, when there.
    pub kept_tests: Option<PathBuf>,
}

pub(crate) const LOC_INDIVIDUAL: &str = "edit_location_individual";
pub(crate) const LOC_SAMPLES: &str = "edit_location_samples/loc_outputs.jsonl";
pub(crate) const SELECT_REGRESSION: &str = "select_regression/output.jsonl";

/// `output_{sample}_processed.jsonl`, or the `_normalized.jsonl` `rerank.py` derives from it when that exists.
pub(crate) fn processed_file(folder: &Path, sample: usize) -> PathBuf {
    let normalized = folder.join(format!("output_{sample}_normalized.jsonl"));
    if normalized.is_file() { normalized } else { folder.join(format!("output_{sample}_processed.jsonl")) }
}

pub(crate) fn regression_file(folder: &Path, sample: usize) -> PathBuf {
    folder.join(format!("output_{sample}_regression_test_results.jsonl"))
}

pub(crate) fn reproduction_file(folder: &Path, sample: usize) -> PathBuf {
    folder.join(format!("output_{sample}_reproduction_test_results.jsonl"))
}

impl Layout {
    /// The files under `root` that replaying through `depth` needs; what is missing or out of order is an error.
    pub(crate) fn discover(root: &Path, depth: ReplayDepth) -> Result<Self, ReplayError> {
        let fail = |folder: &Path, reason: String| ReplayError::Layout { folder: folder.to_owned(), reason };
        if !root.is_dir() {
            return Err(fail(root, "not a folder".to_owned()));
        }
        let individual = root.join(LOC_INDIVIDUAL);
        let loc_indices = numbered_names(&individual, |name| {
            let middle = name.strip_prefix("loc_merged_")?.strip_suffix("_outputs.jsonl")?;
            let (start, end) = middle.split_once('-')?;
            // `0-1` and `2-3` are v1.0's pairwise merges, not location samples.
            (start == end).then(|| start.parse().ok())?
        })?;
        let locations = match (contiguous_from(&loc_indices, 0), root.join(LOC_SAMPLES)) {
            (Err(reason), _) => return Err(fail(&individual, format!("loc_merged_{{i}}-{{i}} files: {reason}"))),
            (Ok(count), _) if count > 0 => LocationFiles::PerSample(
                (0..count).map(|i| individual.join(format!("loc_merged_{i}-{i}_outputs.jsonl"))).collect(),
            ),
            (Ok(_), samples) if samples.is_file() => LocationFiles::AllSamples(samples),
            (Ok(_), _) => LocationFiles::Absent,
        };
        let mut layout = Layout {
            locations,
            repair_folders: Vec::new(),
            samples: 0,
            regression_results: false,
            reproduction_results: false,
            kept_tests: Some(root.join(SELECT_REGRESSION)).filter(|path| path.is_file()),
        };
        match depth {
            ReplayDepth::Localize => {
                if layout.locations == LocationFiles::Absent {
                    return Err(fail(
                        root,
                        format!(
                            "no edit locations: neither {LOC_INDIVIDUAL}/loc_merged_{{i}}-{{i}}_outputs.jsonl nor {LOC_SAMPLES}"
                        ),
                    ));
                }
                return Ok(layout);
            }
            ReplayDepth::Repair | ReplayDepth::Validate => {}
        }
        let folder_indices = numbered_names(root, |name| name.strip_prefix("repair_sample_")?.parse().ok())?;
        let folders = contiguous_from(&folder_indices, 1).map_err(|reason| {
            fail(root, format!("repair_sample_{{k}} folders (numbered from 1, as README_swebench does): {reason}"))
        })?;
        if folders == 0 {
            return Err(fail(root, "no repair_sample_{k} folder".to_owned()));
        }
        if let LocationFiles::PerSample(files) = &layout.locations
            && files.len() < folders
        {
            return Err(fail(
                root,
                format!(
                    "repair_sample_{folders} has no location sample: {LOC_INDIVIDUAL} holds loc_merged_{{i}}-{{i}} \
                     for i < {} only",
                    files.len()
                ),
            ));
        }
        layout.repair_folders = (1..=folders).map(|k| root.join(format!("repair_sample_{k}"))).collect();
        let mut samples = None;
        for folder in &layout.repair_folders {
            let indices = numbered_names(folder, |name| {
                let middle = name.strip_prefix("output_")?;
                let number = middle.strip_suffix("_processed.jsonl").or(middle.strip_suffix("_normalized.jsonl"))?;
                number.parse().ok()
            })?;
            let count = contiguous_from(&indices, 0)
                .map_err(|reason| fail(folder, format!("output_{{i}}_processed.jsonl files: {reason}")))?;
            match samples {
                None if count == 0 => return Err(fail(folder, "no output_{i}_processed.jsonl".to_owned())),
                None => samples = Some(count),
                Some(expected) if expected != count => {
                    return Err(fail(
                        folder,
                        format!(
                            "{count} samples where repair_sample_1 has {expected} (rerank.py reads as many from every folder)"
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        layout.samples = samples.unwrap_or_default();
        if depth == ReplayDepth::Validate {
            layout.regression_results = layout.every_sample_has(regression_file)?;
            layout.reproduction_results = layout.every_sample_has(reproduction_file)?;
            if !layout.regression_results && !layout.reproduction_results {
                return Err(fail(
                    root,
                    "no test results to select with: no output_{i}_regression_test_results.jsonl or \
                     output_{i}_reproduction_test_results.jsonl"
                        .to_owned(),
                ));
            }
        }
        Ok(layout)
    }

    /// Whether the file `name` gives exists for every sample of every folder; some but not all is an error.
    fn every_sample_has(&self, name: fn(&Path, usize) -> PathBuf) -> Result<bool, ReplayError> {
        let paths: Vec<PathBuf> = self
            .repair_folders
            .iter()
            .flat_map(|folder| (0..self.samples).map(move |sample| name(folder, sample)))
            .collect();
        let missing: Vec<&PathBuf> = paths.iter().filter(|path| !path.is_file()).collect();
        match (missing.first(), missing.len() == paths.len()) {
            (None, _) => Ok(true),
            (Some(_), true) => Ok(false),
            (Some(first), false) => Err(ReplayError::Layout {
                folder: first.parent().map(Path::to_owned).unwrap_or_default(),
                reason: format!(
                    "{} is missing while other samples have theirs ({} of {} missing)",
                    first.file_name().map(|name| name.to_string_lossy()).unwrap_or_default(),
                    missing.len(),
                    paths.len()
                ),
            }),
        }
    }
}

/// The numbers `number` reads from the names of `folder`'s entries (none when the folder is absent).
fn numbered_names(folder: &Path, number: impl Fn(&str) -> Option<usize>) -> Result<Vec<usize>, ReplayError> {
    if !folder.is_dir() {
        return Ok(Vec::new());
    }
    let mut numbers = Vec::new();
    let entries = fs_err::read_dir(folder).map_err(|source| ReplayError::Read { path: folder.to_owned(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| ReplayError::Read { path: folder.to_owned(), source })?;
        if let Some(found) = entry.file_name().to_str().and_then(&number) {
            numbers.push(found);
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers)
}

/// How many numbers there are when they run `first, first + 1, …` without a gap; otherwise why not.
fn contiguous_from(numbers: &[usize], first: usize) -> Result<usize, String> {
    for (position, &number) in numbers.iter().enumerate() {
        let expected = first + position;
        if number != expected {
            return Err(match number < first {
                true => format!("index {number} is out of range (they count from {first})"),
                false => format!("index {expected} is missing before {number}"),
            });
        }
    }
    Ok(numbers.len())
}
