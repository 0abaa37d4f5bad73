//! `swebench infer --agentless-results` replaying a published Agentless run written in the original's formats
//! (`data/agentless-results`, made by `data/make_agentless_results.py` for the bundled example) through each stage,
//! and `swebench compare` of our predictions with its `all_preds.jsonl`.

use std::path::{Path, PathBuf};

use agentless_tests::workspace_root;

use crate::swebench::{EXPECTED_FIX, dataset, infer, prediction_lines};
use crate::{agentless, stderr, stdout};

const REPLAYED: &str = "example__tinyinvoice-1";

fn results() -> PathBuf {
    workspace_root().join("tests/tests/e2e/data/agentless-results")
}

/// `swebench infer` on both example instances (the results hold the first only) replaying through `stage`.
fn replay(root: &Path, out: &str, stage: &str) -> std::process::Output {
    let results = results();
    let args = [
        "--instances",
        "example__tinyinvoice-1",
        "example__tinyinvoice-2",
        "--agentless-results",
        results.to_str().unwrap(),
        "--replay-through",
        stage,
    ];
    infer(root, out, &args)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap()
}

fn candidates(run: &Path) -> Vec<serde_json::Value> {
    prediction_lines(&run.join("candidates.jsonl"))
}

/// The prediction of the replayed instance; the other one has none and says why.
fn checked_prediction(root: &Path, out: &str, output: &std::process::Output) -> String {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    let out = root.join(out);
    let predictions = prediction_lines(&out.join("predictions.jsonl"));
    assert_eq!(predictions.len(), 1, "{predictions:?}");
    assert_eq!(predictions[0]["instance_id"], REPLAYED);
    let error = fs_err::read_to_string(out.join("example__tinyinvoice-2/error.txt")).unwrap();
    assert!(
        error.contains("cannot replay the original's results")
            && error.contains("loc_merged_0-0_outputs.jsonl has no row for example__tinyinvoice-2"),
        "{error}"
    );
    predictions[0]["model_patch"].as_str().unwrap().to_owned()
}

fn compare(root: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let theirs = results().join("all_preds.jsonl");
    let mut args = vec!["swebench", "compare", "--ours", out, "--theirs", theirs.to_str().unwrap()];
    args.extend_from_slice(extra);
    agentless(root, &args, &[])
}

#[test]
fn through_localize_our_repair_works_on_their_edit_locations() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let output = replay(root.path(), "out", "localize");
    let patch = checked_prediction(root.path(), "out", &output);
    assert!(patch.contains(EXPECTED_FIX), "{patch}");
    let run = root.path().join("out").join(REPLAYED);
    assert_eq!(json(&run.join("replay.json"))["through"], "localize");
    let locations = json(&run.join("locations.json"));
    assert_eq!(locations["found_files"][2], "tinyinvoice/tax.py");
    assert_eq!(locations["found_edit_locs"].as_array().unwrap().len(), 4);
    assert_eq!(locations["found_edit_locs"][2]["tinyinvoice/money.py"][0], "\nline: 3\nline: 48");
    // Our repair answered: every candidate carries the model's answer.
    let candidates = candidates(&run);
    assert_eq!(candidates.len(), 4 * 10, "4 location samples × 10 samples (the local preset)");
    assert!(candidates.iter().all(|candidate| !candidate["raw_output"].as_str().unwrap().is_empty()));

    let compared = compare(root.path(), "out", &["--json"]);
    assert_eq!(compared.status.code(), Some(0), "{}", stderr(&compared));
    let row: serde_json::Value = serde_json::from_str(stdout(&compared).trim()).unwrap();
    assert_eq!(row["instance_id"], REPLAYED);
    assert_eq!(row["agreement"], "same", "our diff of the same change: {row}");
    assert_eq!(row["identical_text"], false, "git's diff has an index line, ours does not");
}

#[test]
fn through_repair_our_validation_chooses_among_their_patches() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let output = replay(root.path(), "out", "repair");
    let patch = checked_prediction(root.path(), "out", &output);
    let theirs = prediction_lines(&results().join("all_preds.jsonl"));
    assert_eq!(patch, theirs[0]["model_patch"].as_str().unwrap(), "their raw patch A, chosen by our tests");
    let run = root.path().join("out").join(REPLAYED);
    let ids: Vec<(String, String)> = candidates(&run)
        .iter()
        .map(|row| (row["id"].as_str().unwrap().to_owned(), row["status"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("L0.S0", "ok"),
        ("L0.S1", "ok"),
        ("L1.S0", "ok"),
        ("L1.S1", "syntax_error"),
        ("L2.S0", "ok"),
        ("L2.S1", "ok"),
        ("L3.S0", "ok"),
        ("L3.S1", "ok"),
    ];
    assert_eq!(ids, expected.map(|(id, status)| (id.to_owned(), status.to_owned())));
    let report = json(&run.join("report.json"));
    assert_eq!(report["rule"], "regression_and_reproduction", "{report:#}");
    let wrong = report["candidates"].as_array().unwrap().iter().find(|row| row["id"] == "L0.S1").unwrap();
    assert!(wrong["regression_failures"].as_u64().unwrap() > 0, "W breaks our regression tests: {wrong}");
    assert!(stderr(&output).contains("replaying") && stderr(&output).contains("through Repair"));
}

#[test]
fn through_validate_our_selection_reads_their_results_and_compares_with_their_choice() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let output = replay(root.path(), "out", "validate");
    let patch = checked_prediction(root.path(), "out", &output);
    let theirs = prediction_lines(&results().join("all_preds.jsonl"));
    assert_eq!(patch, theirs[0]["model_patch"].as_str().unwrap());
    let run = root.path().join("out").join(REPLAYED);
    let report = json(&run.join("report.json"));
    assert_eq!(report["rule"], "regression_and_reproduction");
    assert_eq!(report["validation_strength"]["regression_tests_run"], 1, "select_regression kept one test");
    assert_eq!(report["usage_total"]["calls"], 0, "no model call: {:#}", report["usage_total"]);
    assert!(report["degradations"][0].as_str().unwrap().contains("recorded by the original Agentless run"));

    // A rerun resumes the replayed folder; replaying the same --out through another stage is refused.
    let again = replay(root.path(), "out", "validate");
    assert!(stderr(&again).contains("1 finished earlier, 1 to do"), "{}", stderr(&again));
    fs_err::remove_file(root.path().join("out/predictions.jsonl")).unwrap();
    let other = replay(root.path(), "out", "repair");
    assert_eq!(other.status.code(), Some(1));
    let error = fs_err::read_to_string(run.join("error.txt")).unwrap();
    assert!(error.contains("through Validate, not replaying") && error.contains("through Repair"), "{error}");
}

#[test]
fn compare_prints_a_table_of_every_instance_we_predicted() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let output = replay(root.path(), "out", "validate");
    checked_prediction(root.path(), "out", &output);
    // One more prediction of ours, empty, for an instance their file lacks.
    let predictions = root.path().join("out/predictions.jsonl");
    let mut text = fs_err::read_to_string(&predictions).unwrap();
    text.push_str(
        "{\"instance_id\": \"example__tinyinvoice-2\", \"model_name_or_path\": \"x\", \"model_patch\": \"\"}\n",
    );
    fs_err::write(&predictions, text).unwrap();
    let compared = compare(root.path(), "out", &[]);
    assert_eq!(compared.status.code(), Some(0), "{}", stderr(&compared));
    insta::assert_snapshot!(stdout(&compared), @"
    instance                agreement      ours  theirs  same text
    example__tinyinvoice-1  same              2       2  yes
    example__tinyinvoice-2  not in theirs     0       0  no
    ");
    assert!(stderr(&compared).contains("2 instances of out/predictions.jsonl compared with"), "{}", stderr(&compared));
    assert!(stderr(&compared).contains("1 same, 1 not in theirs"), "{}", stderr(&compared));
}

#[test]
fn a_results_folder_missing_what_the_stage_needs_stops_before_any_instance() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    fs_err::create_dir(root.path().join("empty")).unwrap();
    let args = ["--agentless-results", "empty", "--replay-through", "repair"];
    let output = infer(root.path(), "out", &args);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("cannot replay the Agentless results in empty"), "{}", stderr(&output));
    assert!(stderr(&output).contains("no repair_sample_{k} folder"), "{}", stderr(&output));
    let output = infer(root.path(), "out", &["--replay-through", "repair"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--agentless-results"), "{}", stderr(&output));
}
