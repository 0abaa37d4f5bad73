//! `agentless run`: the whole pipeline on the bundled example, replayed from its transcript, in the local sandbox
//! and in Docker.

use agentless_tests::{Script, ScriptedModelServer, docker_available, workspace_root};

use crate::action::{copy_tree, git};
use crate::{agentless, agentless_command, build_base_image, example_repo, stderr, stdout};

fn run_example(home: &std::path::Path, out: &str, extra: &[&str]) -> std::process::Output {
    let repo = example_repo();
    let issue = workspace_root().join("examples/tinyinvoice.issue.md");
    let model = format!("replay-strict:{}", workspace_root().join("examples/tinyinvoice.transcript.jsonl").display());
    let mut args = vec![
        "run",
        "--repo",
        repo.to_str().unwrap(),
        "--issue",
        issue.to_str().unwrap(),
        "--model",
        &model,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    agentless(home, &args, &[])
}

/// `agentless run` on the example into `out`, answered by `server` with no response cache (every request reaches it).
fn scripted_run(
    home: &std::path::Path,
    out: &std::path::Path,
    server: &ScriptedModelServer,
    extra: &'static [&'static str],
) -> tokio::task::JoinHandle<std::process::Output> {
    let (home, out, base_url) = (home.to_owned(), out.to_owned(), server.base_url());
    tokio::task::spawn_blocking(move || {
        let repo = example_repo();
        let issue = workspace_root().join("examples/tinyinvoice.issue.md");
        let mut args = vec!["run", "--repo", repo.to_str().unwrap(), "--issue", issue.to_str().unwrap()];
        args.extend(["--out", out.to_str().unwrap(), "--model", "openai-compatible:scripted"]);
        args.extend(["--base-url", &base_url, "--no-cache"]);
        args.extend_from_slice(extra);
        agentless(&home, &args, &[])
    })
}

const EXPECTED_FIX: &str =
    "+        return Money(self.amount.quantize(CENT, rounding=\"ROUND_HALF_UP\"), self.currency)";

#[test]
fn the_example_is_fixed_offline_and_resumes() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("run");
    let output = run_example(home.path(), out.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let diff = stdout(&output);
    assert!(diff.starts_with("diff --git a/tinyinvoice/money.py b/tinyinvoice/money.py\n"), "{diff}");
    assert!(diff.contains(EXPECTED_FIX), "{diff}");
    // Only the diff is on stdout; the summary is on stderr.
    assert!(stderr(&output).contains("fewest regressions and the reproduction test passes"), "{}", stderr(&output));
    for artifact in ["locations.json", "candidates.jsonl", "validation.json", "report.json", "report.md", "final.diff"]
    {
        assert!(out.join(artifact).is_file(), "{artifact} missing");
    }
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["candidates"].as_array().map(Vec::len), Some(40));
    // What validation could check is there for a machine, and the run on the original is kept.
    let strength = &report["validation_strength"];
    assert!(strength["regression_tests_run"].as_u64().is_some_and(|run| run > 0), "{strength}");
    assert_eq!(strength["reproduction_tests_kept"], 1, "{strength}");
    assert!(strength["baseline"]["problem"].is_null(), "{strength}");
    let baseline = fs_err::read_to_string(out.join("logs/baseline.log")).unwrap();
    assert!(baseline.contains("test_subtotal"), "{baseline}");
    // A candidate that breaks two tests was seen and lost.
    assert!(report["candidates"].as_array().unwrap().iter().any(|row| row["regression_failures"] == 2));
    // Report rows are the candidates of `candidates.jsonl`, by id; one thrown away has no patch (`null`) from
    // repair to the report.
    let candidates: Vec<serde_json::Value> = fs_err::read_to_string(out.join("candidates.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let rows = report["candidates"].as_array().unwrap();
    let mut ids: Vec<&str> = candidates.iter().map(|candidate| candidate["id"].as_str().unwrap()).collect();
    let row_ids: Vec<&str> = rows.iter().map(|row| row["id"].as_str().unwrap()).collect();
    assert_eq!(row_ids[..3], ["L0.S0", "L1.S0", "L2.S0"]);
    ids.sort_unstable();
    let mut sorted_row_ids = row_ids.clone();
    sorted_row_ids.sort_unstable();
    assert_eq!(ids, sorted_row_ids);
    let thrown_away = candidates.iter().find(|candidate| candidate["status"] == "syntax_error").unwrap();
    assert!(thrown_away["model_patch"].is_null() && thrown_away["normalized_patch"].is_null(), "{thrown_away}");
    let row = rows.iter().find(|row| row["id"] == thrown_away["id"]).unwrap();
    assert!(row["patch"].is_null() && row["applied"].is_null(), "{row}");
    let validation = fs_err::read_to_string(out.join("validation.json")).unwrap();
    assert!(!validation.contains(thrown_away["id"].as_str().unwrap()), "a thrown-away candidate was validated");
    // The user's example project is untouched.
    let money = fs_err::read_to_string(example_repo().join("tinyinvoice/money.py")).unwrap();
    assert!(money.contains("self.amount.quantize(CENT), self.currency"));

    // A finished run is not overwritten by accident.
    let again = run_example(home.path(), out.to_str().unwrap(), &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));

    // Resuming with a setting that changes results is refused, naming it; nothing of the run is rewritten.
    let report_before = fs_err::read_to_string(out.join("report.json")).unwrap();
    let changed = run_example(home.path(), out.to_str().unwrap(), &["--resume", "--samples", "3"]);
    let err = stderr(&changed);
    assert_eq!(changed.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot resume") && err.contains("repair settings"), "{err}");
    assert!(!err.contains("localize settings"), "only what changed is named: {err}");
    assert!(stdout(&changed).is_empty(), "no old diff is printed");
    assert_eq!(fs_err::read_to_string(out.join("report.json")).unwrap(), report_before);
}

/// Without `--out`, a run started inside the git work tree it repairs lands in `.agentless/runs/` at its top, which
/// git leaves out; its report names the issue and the model and links the logs.
#[test]
fn without_out_a_run_lands_in_the_work_tree_and_git_ignores_it() {
    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("tinyinvoice");
    fs_err::create_dir_all(&repo).unwrap();
    copy_tree(&example_repo(), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "tinyinvoice"]);
    let issue = workspace_root().join("examples/tinyinvoice.issue.md");
    let model = format!("replay-strict:{}", workspace_root().join("examples/tinyinvoice.transcript.jsonl").display());
    let args = ["run", "--repo", repo.to_str().unwrap(), "--issue", issue.to_str().unwrap(), "--model", &model];
    let output = agentless_command(home.path(), &args, &[]).current_dir(repo.join("tinyinvoice")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains(EXPECTED_FIX), "{}", stdout(&output));
    let runs: Vec<std::path::PathBuf> =
        fs_err::read_dir(repo.join(".agentless/runs")).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert!(run.file_name().unwrap().to_str().unwrap().starts_with("tinyinvoice-"), "{}", run.display());
    assert!(!home.path().join(".local/state/agentless/runs").exists(), "the run went to the state directory too");
    assert_eq!(git(&repo, &["status", "--porcelain", "--untracked-files=all"]), "", "git sees the run directory");
    let report = fs_err::read_to_string(run.join("report.md")).unwrap();
    assert!(report.starts_with("# Half cents are rounded down on invoices\n"), "{report}");
    assert!(report.contains(&format!("- Model: `{model}`")), "{report}");
    assert!(report.contains("[baseline.log](logs/baseline.log)"), "{report}");
    assert!(report.contains("### Patch 1 (chosen)"), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_skips_finished_stages() {
    // Served by the scripted server with no response cache: every stage redone would reach the server.
    let script = Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap();
    let server = ScriptedModelServer::start(script).await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("run");
    let run = |extra: &'static [&'static str]| scripted_run(home.path(), &out, &server, extra);
    let first = run(&[]).await.unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let sent = server.received();
    for stage in ["localize.file", "localize.edit", "repair"] {
        assert!(sent.iter().any(|request| request.stage == stage), "the first run sent no {stage} request");
    }
    let first_report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("report.json")).unwrap()).unwrap();
    fs_err::remove_file(out.join("report.json")).unwrap();
    let before = fs_err::read_to_string(out.join("candidates.jsonl")).unwrap();

    let resumed = run(&["--resume", "-v"]).await.unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let again: Vec<String> = server.received()[sent.len()..].iter().map(|request| request.stage.clone()).collect();
    assert_eq!(again, Vec::<String>::new(), "the resumed run asked the model again for finished stages");
    assert_eq!(stdout(&resumed), stdout(&first));
    assert!(stderr(&resumed).contains("resumed"), "{}", stderr(&resumed));
    assert_eq!(fs_err::read_to_string(out.join("candidates.jsonl")).unwrap(), before);
    // The resumed report counts what the first process spent: its calls, tokens and stage times.
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["usage_total"], first_report["usage_total"], "{report:#}");
    assert!(report["usage_total"]["calls"].as_u64().is_some_and(|calls| calls > 0), "{report:#}");
    let seconds = |report: &serde_json::Value, stage: &str| {
        report["times"].as_array().unwrap().iter().find(|time| time["stage"] == stage).unwrap()["seconds"]
            .as_f64()
            .unwrap()
    };
    for stage in ["localize", "repair", "validate"] {
        assert!(seconds(&report, stage) >= seconds(&first_report, stage), "{stage}: {report:#}");
    }
    let spend: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("spend.json")).unwrap()).unwrap();
    assert_eq!(spend["processes"], 2, "{spend:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_the_budget_stopped_is_run_again_on_resume() {
    let script = Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap();
    let server = ScriptedModelServer::start(script).await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("run");
    let run = |extra: &'static [&'static str]| scripted_run(home.path(), &out, &server, extra);
    let stopped = run(&["--max-cost", "0"]).await.unwrap();
    assert!(server.received().is_empty(), "requests were sent past the budget");
    assert!(!out.join("locations.json").exists(), "a stopped localization was kept as finished");
    assert!(stderr(&stopped).contains("budget"), "{}", stderr(&stopped));

    let resumed = run(&["--resume"]).await.unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(!server.received_for("localize.file").is_empty(), "the stopped stage was not run again");
    assert!(stdout(&resumed).contains(EXPECTED_FIX), "{}", stdout(&resumed));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_patch_validation_asks_the_model_nothing_and_says_why() {
    let mut script = Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap();
    script.stages.remove("repair");
    let server = ScriptedModelServer::start(script.answer("repair", &["I cannot fix this."])).await;
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("run");
    let (home_path, out_path, base_url) = (home.path().to_owned(), out.clone(), server.base_url());
    let output = tokio::task::spawn_blocking(move || {
        let repo = example_repo();
        let issue = workspace_root().join("examples/tinyinvoice.issue.md");
        let mut args = vec!["run", "--repo", repo.to_str().unwrap(), "--issue", issue.to_str().unwrap()];
        args.extend(["--out", out_path.to_str().unwrap(), "--model", "openai-compatible:scripted"]);
        args.extend(["--base-url", &base_url, "--no-cache"]);
        agentless(&home_path, &args, &[])
    })
    .await
    .unwrap();
    assert!(server.received().iter().any(|request| request.stage == "repair"), "{}", stderr(&output));
    let validation: Vec<String> = server
        .received()
        .into_iter()
        .map(|request| request.stage)
        .filter(|stage| stage.starts_with("validate"))
        .collect();
    assert_eq!(validation, Vec::<String>::new(), "validation asked the model with nothing to validate");
    let report = fs_err::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("no candidate has a patch"), "{report}");
}

/// Labels of containers left behind by agentless runs.
fn leftover_containers() -> String {
    let output = std::process::Command::new("docker")
        .args(["ps", "-a", "--filter", "label=agentless.run", "--format", "{{.Names}} {{.Label \"agentless.run\"}}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_example_is_fixed_in_docker() {
    if !docker_available("the Docker run test") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    build_base_image(home.path());

    let before = leftover_containers();
    let out = home.path().join("run");
    let output = run_example(home.path(), out.to_str().unwrap(), &["--sandbox", "docker", "--workers", "2"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains(EXPECTED_FIX), "{}", stdout(&output));
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["rule"], "regression_and_reproduction");
    // Nothing of this run is left behind: every labelled container now was there before, or belongs to a run still
    // going (another test or user on the machine; a run label starts with the pid of its agentless process).
    let after = leftover_containers();
    let of_a_live_run = |line: &str| {
        let pid = line.split_whitespace().nth(1).and_then(|label| label.split('-').next()).unwrap_or_default();
        !pid.is_empty() && std::path::Path::new("/proc").join(pid).exists()
    };
    for line in after.lines() {
        assert!(before.lines().any(|old| old == line) || of_a_live_run(line), "left behind: {line}");
    }
}

#[test]
fn a_failed_setup_names_its_last_lines_keeps_the_whole_log_and_still_chooses_a_patch() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("run");
    let setup = "for i in $(seq 1 60); do echo pip-line-$i; done; exit 3";
    let output = run_example(home.path(), out.to_str().unwrap(), &["--setup", setup]);
    let err = stderr(&output);
    // Infrastructure degrades validation, never the run: the candidates are voted over and the winner printed.
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(stdout(&output).contains(EXPECTED_FIX), "{}", stdout(&output));
    let log = out.join("logs/setup.log");
    assert!(err.contains(&format!("the whole setup log: {}", log.display())), "{err}");
    assert!(err.contains("pip-line-60") && !err.contains("pip-line-30\n"), "only the last lines: {err}");
    assert_eq!(err.matches("pip-line-60").count(), 1, "said once: {err}");
    assert!(err.contains("validation could not run"), "{err}");
    let kept = fs_err::read_to_string(&log).unwrap();
    assert!(kept.contains("pip-line-1\n") && kept.contains("pip-line-60"), "{kept}");
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["rule"], "vote_only", "{report:#}");
    assert!(report["degradations"][0].as_str().unwrap().contains("local sandbox setup failed"), "{report:#}");
    assert_eq!(report["validation_strength"]["regression_tests_run"], 0, "{report:#}");
    // Validation was not finished: a resume tries it again instead of keeping the fallback.
    assert!(!out.join("validation.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_without_python_costs_no_model_call() {
    let home = tempfile::tempdir().unwrap();
    let repo = home.path().join("docs-only");
    fs_err::create_dir_all(&repo).unwrap();
    fs_err::write(repo.join("README.md"), "# notes\n").unwrap();
    fs_err::write(home.path().join("issue.md"), "The notes are wrong.\n").unwrap();
    let server = ScriptedModelServer::start(Script::default()).await;
    let (home_path, base_url) = (home.path().to_owned(), server.base_url());
    let output = tokio::task::spawn_blocking(move || {
        let repo = home_path.join("docs-only");
        let args = ["run", "--repo", repo.to_str().unwrap(), "--issue", "issue.md", "--model", "openai-compatible:m"];
        agentless(&home_path, &[&args[..], &["--base-url", &base_url, "--no-cache"]].concat(), &[])
    })
    .await
    .unwrap();
    let err = stderr(&output);
    assert_ne!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("holds no Python file"), "{err}");
    assert!(server.received().is_empty(), "no model call: {:?}", server.received());
}
