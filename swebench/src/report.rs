//! Reports in SWE-bench's shapes: the per-instance `report.json` (`get_eval_report`), the run summary
//! `<model>.<run_id>.json` (`make_run_report`, `schema_version: 2`), and a readable table by repository.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::dataset::Instance;
use crate::grading::{
    EvalType, LogEvaluation, ResolvedStatus, TestsStatus, classify_infra_failure, evaluate_log, tests_status,
};
use crate::json_ascii::to_python_json;
use crate::predictions::{Prediction, Predictions};
use agentless_testlog::LogParser;

pub const LOG_REPORT: &str = "report.json";
pub const LOG_INSTANCE: &str = "run_instance.log";
pub const LOG_TEST_OUTPUT: &str = "test_output.txt";

/// One instance's entry in `report.json` (the file holds `{instance_id: report}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceReport {
    #[serde(rename = "patch_is_None")]
    pub patch_is_none: bool,
    pub patch_exists: bool,
    pub patch_successfully_applied: bool,
    pub resolved: bool,
    /// Advisory (5.x): the log shows an environment fault. Never changes `resolved`.
    #[serde(default)]
    pub infra_failure: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infra_failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests_status: Option<TestsStatus>,
}

impl InstanceReport {
    /// `get_eval_report(..., include_tests_status=True)`: grade `test_output` (the eval script's output).
    pub fn grade(
        instance: &Instance,
        prediction: &Prediction,
        test_output: &str,
        parser: LogParser,
        eval_type: EvalType,
    ) -> Self {
        let mut report = Self {
            patch_is_none: prediction.model_patch.is_none(),
            patch_exists: false,
            patch_successfully_applied: false,
            resolved: false,
            infra_failure: false,
            infra_failure_reason: None,
            tests_status: None,
        };
        if report.patch_is_none {
            return report;
        }
        report.patch_exists = true;
        let statuses = match evaluate_log(test_output, parser) {
            LogEvaluation::Parsed(statuses) => statuses,
            LogEvaluation::Invalid(_) => {
                if let Some(failure) = classify_infra_failure(test_output) {
                    report.infra_failure = failure.environment;
                    report.infra_failure_reason = Some(failure.reason.to_owned());
                }
                return report;
            }
        };
        report.patch_successfully_applied = true;
        let status = tests_status(&statuses, &instance.fail_to_pass, &instance.pass_to_pass, eval_type);
        report.resolved = status.resolution() == ResolvedStatus::Full;
        report.tests_status = Some(status);
        report
    }

    /// FULL / PARTIAL / NO; `None` when the log gave no results.
    pub fn resolution(&self) -> Option<ResolvedStatus> {
        self.tests_status.as_ref().map(TestsStatus::resolution)
    }

    /// The `report.json` text: `{instance_id: report}` as `json.dumps(indent=4)` writes it.
    pub fn to_json(&self, instance_id: &str) -> Result<String, serde_json::Error> {
        to_python_json(&IndexMap::from([(instance_id, self)]))
    }
}

/// What the run left for one instance's `report.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportFile {
    /// No file: the instance errored before grading (e.g. the patch did not apply).
    Missing,
    /// Empty, not JSON, or without `{id: {resolved}}`: counted as an error.
    Unreadable,
    Found {
        resolved: bool,
    },
}

impl ReportFile {
    pub fn read(path: &Path, instance_id: &str) -> Self {
        let Ok(text) = fs_err::read_to_string(path) else { return ReportFile::Missing };
        Self::parse(&text, instance_id)
    }

    pub fn parse(text: &str, instance_id: &str) -> Self {
        let resolved = serde_json::from_str::<serde_json::Value>(text.trim())
            .ok()
            .and_then(|value| value.get(instance_id)?.get("resolved")?.as_bool());
        match resolved {
            Some(resolved) => ReportFile::Found { resolved },
            None => ReportFile::Unreadable,
        }
    }
}

/// The run summary, field for field as `make_run_report` writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub total_instances: usize,
    pub submitted_instances: usize,
    pub completed_instances: usize,
    pub resolved_instances: usize,
    pub unresolved_instances: usize,
    pub infra_failure_instances: usize,
    pub ambiguous_failure_instances: usize,
    pub empty_patch_instances: usize,
    pub error_instances: usize,
    pub completed_ids: Vec<String>,
    pub incomplete_ids: Vec<String>,
    pub empty_patch_ids: Vec<String>,
    pub submitted_ids: Vec<String>,
    pub resolved_ids: Vec<String>,
    pub unresolved_ids: Vec<String>,
    pub infra_failure_ids: Vec<String>,
    pub ambiguous_failure_ids: Vec<String>,
    pub failure_reasons: BTreeMap<String, String>,
    pub error_ids: Vec<String>,
    pub schema_version: u32,
}

/// One instance's run artifacts, as the summary needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceArtifacts {
    pub report: ReportFile,
    /// `test_output.txt` and `run_instance.log`, joined with a newline (for the failure classification).
    pub logs: String,
}

impl RunSummary {
    /// `make_run_report` over `instances` (the whole dataset), given each submitted instance's artifacts.
    pub fn build(
        instances: &[Instance],
        predictions: &Predictions,
        mut artifacts: impl FnMut(&Prediction) -> InstanceArtifacts,
    ) -> Self {
        let mut sets: [BTreeSet<String>; 6] = Default::default();
        let [completed, resolved, unresolved, errors, incomplete, empty] = &mut sets;
        let mut logs_by_id = BTreeMap::new();
        for instance in instances {
            let id = instance.instance_id.clone();
            let Some(prediction) = predictions.get(&id) else {
                incomplete.insert(id);
                continue;
            };
            if prediction.is_empty_patch() {
                empty.insert(id);
                continue;
            }
            let found = artifacts(prediction);
            match found.report {
                ReportFile::Missing => {
                    errors.insert(id.clone());
                }
                ReportFile::Unreadable => {
                    completed.insert(id.clone());
                    errors.insert(id.clone());
                }
                ReportFile::Found { resolved: true } => {
                    completed.insert(id.clone());
                    resolved.insert(id.clone());
                }
                ReportFile::Found { resolved: false } => {
                    completed.insert(id.clone());
                    unresolved.insert(id.clone());
                }
            }
            logs_by_id.insert(id, found.logs);
        }
        let mut infra = BTreeSet::new();
        let mut ambiguous = BTreeSet::new();
        let mut failure_reasons = BTreeMap::new();
        for id in unresolved.iter().chain(errors.iter()) {
            let Some(failure) = logs_by_id.get(id).and_then(|logs| classify_infra_failure(logs)) else { continue };
            failure_reasons.insert(id.clone(), failure.reason.to_owned());
            if failure.environment {
                infra.insert(id.clone())
            } else {
                ambiguous.insert(id.clone())
            };
        }
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>();
        let mut submitted_ids: Vec<String> =
            predictions.iter().map(|prediction| prediction.instance_id.clone()).collect();
        submitted_ids.sort();
        Self {
            total_instances: instances.len(),
            submitted_instances: predictions.len(),
            completed_instances: completed.len(),
            resolved_instances: resolved.len(),
            unresolved_instances: unresolved.len(),
            infra_failure_instances: infra.len(),
            ambiguous_failure_instances: ambiguous.len(),
            empty_patch_instances: empty.len(),
            error_instances: errors.len(),
            completed_ids: list(completed),
            incomplete_ids: list(incomplete),
            empty_patch_ids: list(empty),
            submitted_ids,
            resolved_ids: list(resolved),
            unresolved_ids: list(unresolved),
            infra_failure_ids: list(&infra),
            ambiguous_failure_ids: list(&ambiguous),
            failure_reasons,
            error_ids: list(errors),
            schema_version: 2,
        }
    }

    /// [`Self::build`] from SWE-bench's log layout: `<log_root>/<run_id>/<model with / → __>/<id>/report.json`
    /// (`log_root` is `logs/run_evaluation` upstream).
    pub fn from_log_dir(log_root: &Path, run_id: &str, instances: &[Instance], predictions: &Predictions) -> Self {
        Self::build(instances, predictions, |prediction| {
            let folder = instance_log_dir(log_root, run_id, prediction);
            let logs = [LOG_TEST_OUTPUT, LOG_INSTANCE]
                .iter()
                .filter_map(|name| fs_err::read_to_string(folder.join(name)).ok())
                .collect::<Vec<_>>()
                .join("\n");
            InstanceArtifacts { report: ReportFile::read(&folder.join(LOG_REPORT), &prediction.instance_id), logs }
        })
    }

    /// The summary text as upstream writes it (`print(json.dumps(report, indent=4), file=f)`).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        Ok(to_python_json(self)? + "\n")
    }

    /// `<model with / → __>.<run_id>.json`.
    pub fn file_name(model_name_or_path: &str, run_id: &str) -> String {
        format!("{}.{run_id}.json", model_name_or_path.replace('/', "__"))
    }

    /// Counts per repository (from `instances`), with a total row; resolved % is of all instances.
    pub fn table_by_repo(&self, instances: &[Instance]) -> String {
        #[derive(Default)]
        struct Row {
            total: usize,
            submitted: usize,
            resolved: usize,
            unresolved: usize,
            empty: usize,
            errors: usize,
        }
        fn member(ids: &[String]) -> BTreeSet<&str> {
            ids.iter().map(String::as_str).collect()
        }
        let (submitted, resolved, unresolved) =
            (member(&self.submitted_ids), member(&self.resolved_ids), member(&self.unresolved_ids));
        let (empty, errors) = (member(&self.empty_patch_ids), member(&self.error_ids));
        let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
        let mut total = Row::default();
        for instance in instances {
            let id = instance.instance_id.as_str();
            for row in [rows.entry(instance.repo.as_str()).or_default(), &mut total] {
                row.total += 1;
                row.submitted += usize::from(submitted.contains(id));
                row.resolved += usize::from(resolved.contains(id));
                row.unresolved += usize::from(unresolved.contains(id));
                row.empty += usize::from(empty.contains(id));
                row.errors += usize::from(errors.contains(id));
            }
        }
        let mut table = String::new();
        let header = ["repository", "total", "submitted", "resolved", "unresolved", "empty", "errors", "resolved %"];
        let width = rows.keys().map(|repo| repo.len()).max().unwrap_or(0).max(header[0].len());
        let _ = writeln!(
            table,
            "{:<width$}  {:>5}  {:>9}  {:>8}  {:>10}  {:>5}  {:>6}  {:>10}",
            header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7]
        );
        let mut line = |name: &str, row: &Row| {
            let percent = if row.total == 0 { 0.0 } else { 100.0 * row.resolved as f64 / row.total as f64 };
            let _ = writeln!(
                table,
                "{name:<width$}  {:>5}  {:>9}  {:>8}  {:>10}  {:>5}  {:>6}  {:>9.2}%",
                row.total, row.submitted, row.resolved, row.unresolved, row.empty, row.errors, percent
            );
        };
        for (repo, row) in &rows {
            line(repo, row);
        }
        line("total", &total);
        table
    }
}

/// `logs/run_evaluation/<run_id>/<model>/<instance_id>/` relative to `log_root` = `logs/run_evaluation`.
pub fn instance_log_dir(log_root: &Path, run_id: &str, prediction: &Prediction) -> PathBuf {
    log_root.join(run_id).join(prediction.model_dir_name()).join(&prediction.instance_id)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
