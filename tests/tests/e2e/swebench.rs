//! `agentless swebench infer` and `merge` on a SWE-bench-format dataset made from the bundled example (a bare clone
//! under `--repos`), replayed from its transcript in the local sandbox: predictions in SWE-bench's format, resume,
//! shards and their merge, and a missing clone recorded as that instance's error.

use std::path::{Path, PathBuf};
use std::process::Command;

use agentless_tests::{git, workspace_root};

use crate::{agentless, example_repo, stderr};

pub(crate) const EXPECTED_FIX: &str =
    "+        return Money(self.amount.quantize(CENT, rounding=\"ROUND_HALF_UP\"), self.currency)";

/// `root/repos/example__tinyinvoice` (bare) and `root/data.jsonl` with two instances of it and one of a repository
/// nobody cloned.
pub(crate) fn dataset(root: &Path) -> PathBuf {
    let work = root.join("work");
    let copied = Command::new("cp").arg("-r").arg(example_repo()).arg(&work).status().unwrap();
    assert!(copied.success());
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "base"]);
    let base = git(&work, &["rev-parse", "HEAD"]);
    fs_err::create_dir_all(root.join("repos")).unwrap();
    git(root, &["clone", "-q", "--bare", "work", "repos/example__tinyinvoice"]);
    let issue = fs_err::read_to_string(workspace_root().join("examples/tinyinvoice.issue.md")).unwrap();
    let row = |id: &str, repo: &str| {
        serde_json::json!({
            "instance_id": id, "repo": repo, "base_commit": base, "patch": "", "test_patch": "",
            "problem_statement": issue, "version": "0.1", "environment_setup_commit": base,
            "FAIL_TO_PASS": [], "PASS_TO_PASS": [],
        })
        .to_string()
    };
    let rows = [
        row("example__tinyinvoice-1", "example/tinyinvoice"),
        row("example__tinyinvoice-2", "example/tinyinvoice"),
        row("example__absent-1", "example/absent"),
    ];
    let path = root.join("data.jsonl");
    fs_err::write(&path, rows.join("\n") + "\n").unwrap();
    path
}

/// `swebench infer` replaying the bundled transcript strictly. It was recorded by `agentless run`, so the `local`
/// preset (the `paper` one asks for 40 reproduction tests, not 10, and the transcript holds no such request).
pub(crate) fn infer(root: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let model = format!("replay-strict:{}", workspace_root().join("examples/tinyinvoice.transcript.jsonl").display());
    infer_with(root, out, &["--model", &model, "--preset", "local"], extra)
}

/// `swebench infer` on the dataset of [`dataset`] in `root`, validated in the local sandbox with the example's own
/// test command (no setup), with `model_args` saying which model and preset.
pub(crate) fn infer_with(root: &Path, out: &str, model_args: &[&str], extra: &[&str]) -> std::process::Output {
    let data = root.join("data.jsonl");
    let repos = root.join("repos");
    let mut args = vec![
        "swebench",
        "infer",
        "--dataset",
        data.to_str().unwrap(),
        "--repos",
        repos.to_str().unwrap(),
        "--out",
        out,
        "--setup",
        "none",
        "--test-cmd",
        "python -m unittest -v",
        "--regression-tests",
        "detect",
        "--sandbox",
        "local",
    ];
    args.extend_from_slice(model_args);
    args.extend_from_slice(extra);
    agentless(root, &args, &[])
}

pub(crate) fn prediction_lines(path: &Path) -> Vec<serde_json::Value> {
    fs_err::read_to_string(path).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

#[test]
fn infer_writes_predictions_resumes_and_records_a_missing_clone() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let output = infer(root.path(), "out", &["--instance-workers", "2"]);
    // One instance could not run: the run says so and exits 1, the others are done.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let out = root.path().join("out");
    let predictions = prediction_lines(&out.join("predictions.jsonl"));
    assert_eq!(predictions.len(), 2, "{predictions:?}");
    for prediction in &predictions {
        assert!(prediction["model_patch"].as_str().unwrap().contains(EXPECTED_FIX), "{prediction}");
        assert!(prediction["model_name_or_path"].as_str().unwrap().starts_with("replay-strict:"));
    }
    for artifact in ["locations.json", "candidates.jsonl", "validation.json", "report.json"] {
        assert!(out.join("example__tinyinvoice-1").join(artifact).is_file(), "{artifact} missing");
    }
    let error = fs_err::read_to_string(out.join("example__absent-1/error.txt")).unwrap();
    assert!(error.contains("git clone https://github.com/example/absent.git"), "{error}");
    assert!(stderr(&output).contains("2 with a patch, 2 validated by a reproduction test, 1 failed"));

    // A rerun does only what is not finished: the missing clone again, nothing else.
    let again = infer(root.path(), "out", &[]);
    assert!(stderr(&again).contains("2 finished earlier, 1 to do"), "{}", stderr(&again));
    assert_eq!(prediction_lines(&out.join("predictions.jsonl")).len(), 2);
}

#[test]
fn shards_split_the_instances_and_merge_joins_them() {
    let root = tempfile::tempdir().unwrap();
    dataset(root.path());
    let ids = "example__tinyinvoice-1,example__tinyinvoice-2";
    for shard in ["1/2", "2/2"] {
        let out = format!("shard-{}", &shard[..1]);
        let output = infer(root.path(), &out, &["--shard", shard, "--instances", ids]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(prediction_lines(&root.path().join(&out).join("predictions.jsonl")).len(), 1);
    }
    let first = prediction_lines(&root.path().join("shard-1/predictions.jsonl"));
    assert_eq!(first[0]["instance_id"], "example__tinyinvoice-1");
    let merged = root.path().join("all.jsonl");
    let output =
        agentless(root.path(), &["swebench", "merge", "--out", merged.to_str().unwrap(), "shard-1", "shard-2"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let ids: Vec<String> =
        prediction_lines(&merged).iter().map(|line| line["instance_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["example__tinyinvoice-1", "example__tinyinvoice-2"]);

    // `clone` names what is missing and leaves what is there.
    let data = root.path().join("data.jsonl");
    let repos = root.path().join("repos");
    let clone = agentless(
        root.path(),
        &["swebench", "clone", "--dataset", data.to_str().unwrap(), "--repos", repos.to_str().unwrap(), "--dry-run"],
        &[],
    );
    assert_eq!(clone.status.code(), Some(0), "{}", stderr(&clone));
    let printed = String::from_utf8_lossy(&clone.stdout);
    assert!(printed.contains("git clone --bare https://github.com/example/absent.git"), "{printed}");
    assert!(!printed.contains("example/tinyinvoice"), "{printed}");
    assert!(stderr(&clone).contains("example__tinyinvoice: exists, skipped"), "{}", stderr(&clone));

    let bad = infer(root.path(), "bad", &["--shard", "3/2"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("invalid value '3/2' for '--shard <I/N>': a shard is I/N"), "{}", stderr(&bad));
}
