use agentless_candidate::Patch;
use agentless_localize::answers::FileLocs;
use agentless_repair::CandidateStatus;
use agentless_validate::ValidationReport;
use agentless_validate::selection::SelectionRule;
use pretty_assertions::assert_eq;

use super::*;

const OLD: &str = "def f():\n    return 1\n";
const NEW: &str = "def f():\n    return 2\n";
const PATCH: &str =
    "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n";

/// A results folder with `folders` repair folders of `samples` samples each, every row for instance `a`.
fn results(folders: usize, samples: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let individual = root.join("edit_location_individual");
    fs_err::create_dir_all(&individual).unwrap();
    for location in 0..folders {
        let row = serde_json::json!({
            "instance_id": "a", "found_files": ["m.py", "n.py"],
            "found_related_locs": {"m.py": ["function: f"], "n.py": [""]},
            "found_edit_locs": {"m.py": [format!("\nline: {}", location + 1)]},
        });
        write(&individual.join(format!("loc_merged_{location}-{location}_outputs.jsonl")), &[row]);
        let folder = root.join(format!("repair_sample_{}", location + 1));
        fs_err::create_dir_all(&folder).unwrap();
        for sample in 0..samples {
            write(&folder.join(format!("output_{sample}_processed.jsonl")), &[processed("a", PATCH)]);
        }
    }
    dir
}

fn processed(id: &str, patch: &str) -> serde_json::Value {
    serde_json::json!({
        "model_name_or_path": "agentless", "instance_id": id, "model_patch": patch, "raw_model_patch": patch,
        "original_file_content": [OLD], "edited_files": ["m.py"], "new_file_content": [NEW],
    })
}

fn write(path: &Path, rows: &[serde_json::Value]) {
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    fs_err::write(path, text).unwrap();
}

fn wanted() -> BTreeSet<String> {
    BTreeSet::from(["a".to_owned()])
}

fn load_error(root: &Path, depth: ReplayDepth) -> String {
    let error = AgentlessResults::load(root, depth, &wanted()).unwrap_err();
    error.to_string().replace(&root.display().to_string(), "ROOT")
}

#[test]
fn location_samples_and_repair_samples_become_our_ids() {
    let dir = results(2, 3);
    let root = dir.path();
    // Folder 2, sample 1 is rejected by the original: it kept the raw diff only.
    let mut rejected = processed("a", "");
    rejected["raw_model_patch"] = serde_json::json!(PATCH);
    rejected["new_file_content"] = serde_json::json!(["def f(:\n"]);
    write(&root.join("repair_sample_2/output_1_processed.jsonl"), &[rejected]);
    let replay = AgentlessResults::load(root, ReplayDepth::Repair, &wanted()).unwrap().instance("a").unwrap();
    assert_eq!(replay.locations.found_files, ["m.py", "n.py"]);
    assert_eq!(
        replay.locations.found_edit_locs,
        [
            FileLocs::from([("m.py".to_owned(), vec!["\nline: 1".to_owned()])]),
            FileLocs::from([("m.py".to_owned(), vec!["\nline: 2".to_owned()])])
        ]
    );
    let candidates = replay.candidates.unwrap();
    let ids: Vec<String> = candidates.iter().map(|candidate| candidate.id.to_string()).collect();
    assert_eq!(ids, ["L0.S0", "L0.S1", "L0.S2", "L1.S0", "L1.S1", "L1.S2"]);
    assert_eq!(candidates[0].status, CandidateStatus::Ok);
    assert_eq!(candidates[0].temperature, 0.0);
    assert_eq!(candidates[1].temperature, 0.8);
    assert_eq!(candidates[0].model_patch.as_ref().map(Patch::as_str), Some(PATCH));
    let normalized = candidates[0].normalized_patch.as_ref().unwrap().as_str();
    assert!(normalized.contains("+    return 2"), "our normalization of their files: {normalized}");
    assert_eq!(candidates[4].status, CandidateStatus::SyntaxError);
    assert_eq!(candidates[4].model_patch, None);
    assert_eq!(replay.recorded, None, "results are not read through repair");
}

#[test]
fn their_normalized_patch_is_the_vote_key_when_rerank_wrote_it() {
    let dir = results(1, 1);
    let mut row = processed("a", PATCH);
    row["normalized_patch"] = serde_json::json!("  their key\n");
    write(&dir.path().join("repair_sample_1/output_0_normalized.jsonl"), &[row]);
    let replay = AgentlessResults::load(dir.path(), ReplayDepth::Repair, &wanted()).unwrap().instance("a").unwrap();
    let candidates = replay.candidates.unwrap();
    assert_eq!(candidates[0].normalized_patch.as_ref().map(Patch::as_str), Some("their key"));
}

#[test]
fn out_of_range_and_missing_sample_indices_are_errors() {
    let dir = results(2, 2);
    let root = dir.path();
    fs_err::create_dir(root.join("repair_sample_0")).unwrap();
    assert_eq!(
        load_error(root, ReplayDepth::Repair),
        "ROOT: repair_sample_{k} folders (numbered from 1, as README_swebench does): index 0 is out of range (they \
         count from 1)"
    );
    fs_err::remove_dir(root.join("repair_sample_0")).unwrap();
    fs_err::create_dir(root.join("repair_sample_3")).unwrap();
    assert_eq!(
        load_error(root, ReplayDepth::Repair),
        "ROOT: repair_sample_3 has no location sample: edit_location_individual holds loc_merged_{i}-{i} for i < 2 \
         only"
    );
    fs_err::remove_dir(root.join("repair_sample_3")).unwrap();
    fs_err::rename(
        root.join("repair_sample_2/output_1_processed.jsonl"),
        root.join("repair_sample_2/output_4_processed.jsonl"),
    )
    .unwrap();
    assert_eq!(
        load_error(root, ReplayDepth::Repair),
        "ROOT/repair_sample_2: output_{i}_processed.jsonl files: index 1 is missing before 4"
    );
    fs_err::remove_file(root.join("repair_sample_2/output_4_processed.jsonl")).unwrap();
    assert_eq!(
        load_error(root, ReplayDepth::Repair),
        "ROOT/repair_sample_2: 1 samples where repair_sample_1 has 2 (rerank.py reads as many from every folder)"
    );
}

#[test]
fn missing_files_are_errors_before_any_instance_runs() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        load_error(dir.path(), ReplayDepth::Localize),
        "ROOT: no edit locations: neither edit_location_individual/loc_merged_{i}-{i}_outputs.jsonl nor \
         edit_location_samples/loc_outputs.jsonl"
    );
    assert_eq!(load_error(dir.path(), ReplayDepth::Repair), "ROOT: no repair_sample_{k} folder");
    let dir = results(1, 2);
    assert_eq!(
        load_error(dir.path(), ReplayDepth::Validate),
        "ROOT: no test results to select with: no output_{i}_regression_test_results.jsonl or \
         output_{i}_reproduction_test_results.jsonl"
    );
    let mut row = processed("a", PATCH);
    row["regression"] = serde_json::json!([]);
    write(&dir.path().join("repair_sample_1/output_0_regression_test_results.jsonl"), &[row]);
    assert_eq!(
        load_error(dir.path(), ReplayDepth::Validate),
        "ROOT/repair_sample_1: output_1_regression_test_results.jsonl is missing while other samples have theirs (1 \
         of 2 missing)"
    );
}

#[test]
fn an_instance_missing_from_a_file_is_that_instance_s_error() {
    let dir = results(1, 2);
    write(&dir.path().join("repair_sample_1/output_1_processed.jsonl"), &[processed("b", PATCH)]);
    let wanted = BTreeSet::from(["a".to_owned(), "b".to_owned()]);
    let results = AgentlessResults::load(dir.path(), ReplayDepth::Repair, &wanted).unwrap();
    let error = results.instance("a").unwrap_err().to_string();
    assert_eq!(error, "repair_sample_1/output_1_processed.jsonl has no row for a");
    let error = results.instance("b").unwrap_err().to_string();
    assert_eq!(error, "edit_location_individual/loc_merged_0-0_outputs.jsonl has no row for b");
}

#[test]
fn a_location_file_of_every_sample_is_read_when_there_are_no_individual_files() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::create_dir(dir.path().join("edit_location_samples")).unwrap();
    let row = serde_json::json!({
        "instance_id": "a", "found_files": ["m.py"],
        "found_edit_locs": [{"m.py": ["line: 1"]}, {"m.py": ["function: f"]}, {}],
    });
    write(&dir.path().join("edit_location_samples/loc_outputs.jsonl"), &[row]);
    let results = AgentlessResults::load(dir.path(), ReplayDepth::Localize, &wanted()).unwrap();
    let replay = results.instance("a").unwrap();
    assert_eq!(replay.locations.found_edit_locs.len(), 3);
    assert_eq!(replay.locations.found_edit_locs[1]["m.py"], ["function: f"]);
    assert_eq!(replay.candidates, None);
    // A loc_merged row listing several samples is not what that file holds.
    let bad = serde_json::json!({"instance_id": "a", "found_edit_locs": [{"m.py": ["line: 1"]}]});
    fs_err::create_dir(dir.path().join("edit_location_individual")).unwrap();
    write(&dir.path().join("edit_location_individual/loc_merged_0-0_outputs.jsonl"), &[bad]);
    let results = AgentlessResults::load(dir.path(), ReplayDepth::Localize, &wanted()).unwrap();
    assert_eq!(
        results.instance("a").unwrap_err().to_string(),
        "edit_location_individual/loc_merged_0-0_outputs.jsonl: instance a: found_edit_locs lists 1 samples; a \
         loc_merged_{i}-{i} row holds one sample's {file: locations}"
    );
}

#[test]
fn through_validate_our_selection_runs_over_their_results_and_the_run_folder_is_seeded_once() {
    let dir = results(2, 2);
    let root = dir.path();
    let other = PATCH.replace("return 2", "return 3");
    let other_new = NEW.replace("return 2", "return 3");
    // L1.S0 is a different patch; only it passes their reproduction test, and no candidate fails a regression
    // test except L0.S1 (missing result: the worst).
    let mut different = processed("a", &other);
    different["new_file_content"] = serde_json::json!([other_new]);
    write(&root.join("repair_sample_2/output_0_processed.jsonl"), &[different]);
    for (folder, sample, regression, reproduction) in
        [(1, 0, Some(vec![]), false), (1, 1, None, false), (2, 0, Some(vec![]), true), (2, 1, Some(vec![]), false)]
    {
        let folder = root.join(format!("repair_sample_{folder}"));
        let mut row = serde_json::json!({"instance_id": "a"});
        if let Some(failing) = regression {
            row["regression"] = serde_json::json!(failing as Vec<String>);
        }
        write(&folder.join(format!("output_{sample}_regression_test_results.jsonl")), &[row]);
        let row = serde_json::json!({"instance_id": "a", "reproduction": reproduction});
        write(&folder.join(format!("output_{sample}_reproduction_test_results.jsonl")), &[row]);
    }
    fs_err::create_dir(root.join("select_regression")).unwrap();
    let kept = serde_json::json!({"instance_id": "a", "tests_passing_in_original_repo": ["t1", "t2"]});
    write(&root.join("select_regression/output.jsonl"), &[kept]);
    let results = AgentlessResults::load(root, ReplayDepth::Validate, &wanted()).unwrap();
    let replay = results.instance("a").unwrap();
    let recorded = replay.recorded.clone().unwrap();
    assert_eq!(recorded[&CandidateId::new(0, 1)].regression_failing, None);
    assert_eq!(recorded[&CandidateId::new(1, 0)].reproduction_passed, Some(true));
    assert_eq!(replay.kept_tests.as_deref(), Some(&["t1".to_owned(), "t2".to_owned()][..]));

    let out = tempfile::tempdir().unwrap();
    let run_dir = RunDir::new(out.path().join("a"), true);
    results.seed(&run_dir, &replay, TestCommand::from_user("pytest")).unwrap();
    let validation: ValidationReport =
        serde_json::from_str(&fs_err::read_to_string(run_dir.path(RunDir::VALIDATION)).unwrap()).unwrap();
    assert_eq!(validation.selection.rule, SelectionRule::RegressionAndReproduction);
    assert_eq!(validation.selection.chosen, Some(CandidateId::new(1, 0)));
    assert_eq!(validation.strength().regression_tests_run, 2);
    assert!(run_dir.path(RunDir::CANDIDATES).is_file() && run_dir.path(RunDir::LOCATIONS).is_file());

    // Seeding again from the same replay leaves the folder to the pipeline's resume; another replay is refused.
    fs_err::write(run_dir.path(RunDir::VALIDATION), "kept").unwrap();
    results.seed(&run_dir, &replay, TestCommand::from_user("pytest")).unwrap();
    assert_eq!(fs_err::read_to_string(run_dir.path(RunDir::VALIDATION)).unwrap(), "kept");
    let shallower = AgentlessResults::load(root, ReplayDepth::Repair, &wanted()).unwrap();
    let error = shallower.seed(&run_dir, &replay, TestCommand::from_user("pytest")).unwrap_err().to_string();
    assert!(error.contains("was started replaying") && error.contains("through Validate, not replaying"), "{error}");
    // A folder our own pipeline started is not overwritten either.
    let ours = RunDir::new(out.path().join("b"), true);
    ours.create().unwrap();
    fs_err::write(ours.path(RunDir::INPUTS), "{}").unwrap();
    let error = results.seed(&ours, &replay, TestCommand::from_user("pytest")).unwrap_err().to_string();
    assert!(error.contains("was started without a replay"), "{error}");
}
