//! `agentless localize` against the scripted model server: what is sent, what is written, bad answers, budgets.

use std::path::{Path, PathBuf};
use std::process::Output;

use agentless_tests::{Script, ScriptedModelServer, workspace_root};

use crate::{agentless, example_repo, stderr, stdout};

const KEY: &str = "sk-test-secret-123";

fn example_script() -> Script {
    Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap()
}

/// Run `localize` on the example against `base_url` with a fake key, off the async runtime that serves the model.
async fn run_localize(home: &Path, base_url: String, extra: &[&str]) -> Output {
    let home = home.to_path_buf();
    let extra: Vec<String> = extra.iter().map(|arg| (*arg).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let repo = example_repo();
        let issue: PathBuf = workspace_root().join("examples/tinyinvoice.issue.md");
        let out = home.join("out");
        let mut args: Vec<&str> = vec![
            "localize",
            "--repo",
            repo.to_str().unwrap(),
            "--issue",
            issue.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--model",
            "openai:gpt-4o-2024-05-13",
            "--base-url",
            &base_url,
        ];
        args.extend(extra.iter().map(String::as_str));
        agentless(&home, &args, &[("OPENAI_API_KEY", KEY)])
    })
    .await
    .unwrap()
}

fn read_locations(home: &Path) -> serde_json::Value {
    serde_json::from_str(&fs_err::read_to_string(home.join("out/locations.json")).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn localizes_the_example() {
    let server = ScriptedModelServer::start(example_script()).await;
    let home = tempfile::tempdir().unwrap();
    let output = run_localize(home.path(), server.base_url(), &[]).await;
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));

    // Every stage was asked once, with its header, and the key in the authorization header only.
    let received = server.received();
    let mut stages: Vec<&str> = received.iter().map(|request| request.stage.as_str()).collect();
    stages.sort_unstable();
    assert_eq!(stages, ["localize.edit", "localize.file", "localize.irrelevant", "localize.related"]);
    for request in &received {
        assert_eq!(request.headers.get("authorization").map(String::as_str), Some("Bearer sk-test-secret-123"));
        assert_eq!(request.body["model"], "gpt-4o-2024-05-13");
    }
    let edit = &server.received_for("localize.edit")[0];
    assert_eq!(edit.body["n"], 4);
    assert_eq!(edit.body["temperature"], 0.8);
    insta::assert_snapshot!("file_level_prompt", server.received_for("localize.file")[0].prompt());
    insta::assert_snapshot!("related_prompt", server.received_for("localize.related")[0].prompt());
    insta::assert_snapshot!("edit_prompt", edit.prompt());

    let locations = read_locations(home.path());
    assert_eq!(locations["found_files"][0], "tinyinvoice/money.py");
    assert_eq!(locations["irrelevant_folders"], serde_json::json!(["scripts/"]));
    assert_eq!(locations["found_edit_locs"].as_array().map(Vec::len), Some(4));
    insta::assert_json_snapshot!("edit_spans", locations["edit_spans"]);
    let text = stdout(&output);
    assert!(text.contains("combined                tinyinvoice/money.py"), "{text}");
    // The key never reaches a file or the output.
    let written = fs_err::read_to_string(home.path().join("out/locations.json")).unwrap();
    assert!(!written.contains(KEY));
    assert!(!text.contains(KEY) && !stderr(&output).contains(KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_is_answered_from_the_cache() {
    let server = ScriptedModelServer::start(example_script()).await;
    let home = tempfile::tempdir().unwrap();
    let first = run_localize(home.path(), server.base_url(), &[]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let sent = server.received().len();
    let second = run_localize(home.path(), server.base_url(), &[]).await;
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(server.received().len(), sent, "the second run sent requests");
    assert!(stdout(&second).contains("(4 cached)"), "{}", stdout(&second));
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_key_is_named_not_leaked() {
    let home = tempfile::tempdir().unwrap();
    let repo = example_repo();
    let issue = workspace_root().join("examples/tinyinvoice.issue.md");
    let output = agentless(
        home.path(),
        &["localize", "--repo", repo.to_str().unwrap(), "--issue", issue.to_str().unwrap(), "--out", "out"],
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("OPENAI_API_KEY"), "{}", stderr(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zero_budget_stops_cleanly() {
    let server = ScriptedModelServer::start(example_script()).await;
    let home = tempfile::tempdir().unwrap();
    let output = run_localize(home.path(), server.base_url(), &["--max-cost", "0"]).await;
    assert_eq!(server.received().len(), 0, "requests were sent past the budget");
    let locations = read_locations(home.path());
    assert!(locations["stopped"].as_str().is_some_and(|reason| reason.contains("budget")), "{locations}");
    assert!(stdout(&output).contains("stopped early"), "{}", stdout(&output));
    assert_eq!(output.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_a_429_then_succeeds() {
    let script = example_script().fail("localize.file", 429, Some(0));
    // The failure must come first: rebuild the stage's queue with it in front.
    let mut script = script;
    let answers = script.stages.get_mut("localize.file").unwrap();
    answers.rotate_right(1);
    let server = ScriptedModelServer::start(script).await;
    let home = tempfile::tempdir().unwrap();
    let output = run_localize(home.path(), server.base_url(), &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.received_for("localize.file").len(), 2);
    assert_eq!(read_locations(home.path())["found_files"][0], "tinyinvoice/money.py");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_forever_is_an_error_naming_the_stage() {
    let mut script = example_script();
    script.stages.remove("localize.file");
    let script = script.fail("localize.file", 500, None);
    let server = ScriptedModelServer::start(script).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("agentless.toml");
    fs_err::write(&config, "[providers.openai]\nmax_attempts = 2\n").unwrap();
    let output = run_localize(home.path(), server.base_url(), &["--config", config.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("500") && message.contains("2 attempt"), "{message}");
    assert_eq!(server.received_for("localize.file").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_answers_find_nothing() {
    let script = Script::default()
        .answer("localize.file", &["I think the problem is in the money handling."])
        .answer("localize.irrelevant", &[""])
        .answer("localize.related", &["```\nnot/a/file.py\nclass: Nope\n```"])
        .answer("localize.edit", &["```\n```"]);
    let server = ScriptedModelServer::start(script).await;
    let home = tempfile::tempdir().unwrap();
    let output = run_localize(home.path(), server.base_url(), &["--retrieval", "off"]).await;
    let locations = read_locations(home.path());
    assert_eq!(locations["found_files"], serde_json::json!([]), "{locations}");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

/// `localize` on the example, replaying `transcript` strictly (every request must be identical to a recorded one).
fn localize_replaying_strictly(home: &Path, transcript: &Path) -> Output {
    let repo = example_repo();
    let issue = workspace_root().join("examples/tinyinvoice.issue.md");
    let model = format!("replay-strict:{}", transcript.display());
    agentless(
        home,
        &[
            "localize",
            "--repo",
            repo.to_str().unwrap(),
            "--issue",
            issue.to_str().unwrap(),
            "--out",
            "out",
            "--model",
            &model,
            "--no-cache",
        ],
        &[("AGENTLESS_LOG", "warn")],
    )
}

#[test]
fn the_bundled_transcript_replays_offline() {
    let home = tempfile::tempdir().unwrap();
    let transcript = workspace_root().join("examples/tinyinvoice.transcript.jsonl");
    let output = localize_replaying_strictly(home.path(), &transcript);
    // Strict replay fails on any request the transcript does not hold word for word.
    assert!(
        output.status.success(),
        "the transcript is stale; re-record it with examples/record.sh (see examples/README.md):\n{}",
        stderr(&output)
    );
    assert!(stdout(&output).contains("tinyinvoice/money.py"));
}

#[test]
fn a_stale_transcript_fails_strict_replay_naming_the_stage_and_the_prompt() {
    let home = tempfile::tempdir().unwrap();
    let bundled = fs_err::read_to_string(workspace_root().join("examples/tinyinvoice.transcript.jsonl")).unwrap();
    // What a changed prompt template leaves behind: the recorded file-level prompt no longer matches what is sent.
    let mut entries: Vec<serde_json::Value> = bundled.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let file_level = entries.iter_mut().find(|entry| entry["stage"] == "localize.file").unwrap();
    let prompt = file_level["request"]["prompt"].as_str().unwrap().to_owned();
    assert!(prompt.contains("Please look through"), "{prompt}");
    file_level["request"]["prompt"] = prompt.replacen("Please look through", "Kindly look through", 1).into();
    let stale = home.path().join("stale.jsonl");
    let lines: Vec<String> = entries.iter().map(ToString::to_string).collect();
    fs_err::write(&stale, lines.join("\n") + "\n").unwrap();

    let output = localize_replaying_strictly(home.path(), &stale);
    let stderr = stderr(&output);
    assert!(!output.status.success(), "a stale transcript replayed strictly:\n{stderr}");
    assert!(stderr.contains("strict replay") && stderr.contains("localize.file"), "{stderr}");
    assert!(stderr.contains("«Please look through") && stderr.contains("«Kindly look through"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn embedding_retrieval_uses_the_embeddings_endpoint() {
    let server = ScriptedModelServer::start(example_script()).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("agentless.toml");
    let toml = format!(
        "[providers.openai]\nbase_url = \"{}\"\n\n[localize]\nembedding_model = \"openai:text-embedding-3-small\"\n",
        server.base_url()
    );
    fs_err::write(&config, toml).unwrap();
    let output = run_localize(
        home.path(),
        server.base_url(),
        &["--retrieval", "embeddings", "--config", config.to_str().unwrap()],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let embeddings_sent = || server.received().iter().filter(|request| request.path.ends_with("/embeddings")).count();
    let embedded = embeddings_sent();
    assert!(embedded > 0, "no embeddings request was sent");
    let locations = read_locations(home.path());
    assert!(!locations["retrieval_found_files"].as_array().unwrap().is_empty(), "{locations}");
    // The usage line counts the embedding batches with the chat calls (one per stage's request otherwise).
    let chat_calls = server.received().len() - embedded;
    let counted = format!("{} call(s) (0 cached)", chat_calls + embedded);
    assert!(stdout(&output).contains(&counted), "expected `{counted}`:\n{}", stdout(&output));

    // A rerun finds the embeddings in the response cache, as it finds the chat answers.
    let again = run_localize(
        home.path(),
        server.base_url(),
        &["--retrieval", "embeddings", "--config", config.to_str().unwrap()],
    )
    .await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(embeddings_sent(), embedded, "the rerun sent embeddings again");
    let cached = format!("{n} call(s) ({n} cached)", n = chat_calls + embedded);
    assert!(stdout(&again).contains(&cached), "expected `{cached}`:\n{}", stdout(&again));
}

/// `--issue -` reads the issue from stdin; an empty stdin is an error that says so.
#[tokio::test(flavor = "multi_thread")]
async fn the_issue_can_come_from_stdin() {
    use std::io::Write as _;
    use std::process::Stdio;

    let server = ScriptedModelServer::start(example_script()).await;
    let home = tempfile::tempdir().unwrap();
    let issue = fs_err::read_to_string(workspace_root().join("examples/tinyinvoice.issue.md")).unwrap()
        + "\nSeen on invoice INV-STDIN-4711.\n";
    let (home_path, base_url) = (home.path().to_path_buf(), server.base_url());
    let output = tokio::task::spawn_blocking(move || {
        let (repo, out) = (example_repo(), home_path.join("out"));
        let args = [
            "localize",
            "--repo",
            repo.to_str().unwrap(),
            "--issue",
            "-",
            "--out",
            out.to_str().unwrap(),
            "--model",
            "openai:gpt-4o-2024-05-13",
            "--base-url",
            &base_url,
        ];
        let mut child = crate::agentless_command(&home_path, &args, &[("OPENAI_API_KEY", KEY)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(issue.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    let prompt = server.received_for("localize.file")[0].prompt();
    assert!(prompt.contains("Seen on invoice INV-STDIN-4711."), "{prompt}");

    // Nothing on stdin (`agentless` gives the command none).
    let repo = example_repo();
    let empty = agentless(
        home.path(),
        &["localize", "--repo", repo.to_str().unwrap(), "--issue", "-", "--out", "out", "--model", "replay:none.jsonl"],
        &[],
    );
    assert_eq!(empty.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&empty), @"error: the issue read from stdin is empty");
}
