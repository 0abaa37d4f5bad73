//! `agentless action` as a workflow runs it: a labelled issue, a fake GitHub API on loopback, a real bare remote,
//! and the example's transcript as the model.

use std::path::Path;
use std::process::Command;

use agentless_tests::workspace_root;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{example_repo, stderr, stdout};

const REPO: &str = "octo/tinyinvoice";
const TOKEN: &str = "ghs_e2e_token_secret";

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs_err::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs_err::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn mount(server: &MockServer) {
    let reply = |status: u16, body: Value| ResponseTemplate::new(status).set_body_json(body);
    let comment = json!({"id": 100, "body": "", "html_url": format!("https://github.example/{REPO}/issues/3#issuecomment-100"),
                         "user": {"login": "github-actions[bot]", "type": "Bot"}});
    let pull = json!({"number": 12, "html_url": format!("https://github.example/{REPO}/pull/12")});
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues/3/comments")))
        .respond_with(reply(200, json!([])))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues/3/comments")))
        .respond_with(reply(201, comment.clone()))
        .mount(server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/repos/{REPO}/issues/comments/100")))
        .respond_with(reply(200, comment))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls")))
        .respond_with(reply(200, json!([])))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/pulls")))
        .respond_with(reply(201, pull))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_labelled_issue_becomes_a_draft_pull_request() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("tinyinvoice");
    let remote = dir.path().join("remote.git");
    fs_err::create_dir_all(&workspace).unwrap();
    copy_tree(&example_repo(), &workspace);
    git(&workspace, &["init", "-q", "-b", "main"]);
    git(&workspace, &["add", "-A"]);
    git(&workspace, &["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q", "-m", "tinyinvoice"]);
    let status = Command::new("git").args(["init", "-q", "--bare", "-b", "main"]).arg(&remote).status().unwrap();
    assert!(status.success());
    git(&workspace, &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(&workspace, &["push", "-q", "origin", "main"]);

    // The issue as GitHub sends it: the example's issue file is its title line and body.
    let issue = fs_err::read_to_string(workspace_root().join("examples/tinyinvoice.issue.md")).unwrap();
    let (title, body) = issue.split_once("\n\n").unwrap();
    let event = json!({"action": "labeled", "label": {"name": "agentless"},
                       "issue": {"number": 3, "title": title, "body": body}, "repository": {"default_branch": "main"}});
    let event_path = dir.path().join("event.json");
    fs_err::write(&event_path, event.to_string()).unwrap();

    let server = MockServer::start().await;
    mount(&server).await;
    let transcript = workspace_root().join("examples/tinyinvoice.transcript.jsonl");
    let model = format!("replay-strict:{}", transcript.display());
    let run_dir = dir.path().join("run");
    let bin = agentless_tests::agentless_bin();
    let api_url = server.uri();
    let output = tokio::task::spawn_blocking({
        let (dir, workspace, event_path, run_dir) =
            (dir.path().to_owned(), workspace.clone(), event_path.clone(), run_dir.clone());
        move || {
            Command::new(bin)
                .args(["action", "--out", run_dir.to_str().unwrap(), "--model", &model])
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", &dir)
                .env("XDG_CACHE_HOME", dir.join("cache"))
                .env("GITHUB_EVENT_NAME", "issues")
                .env("GITHUB_EVENT_PATH", &event_path)
                .env("GITHUB_REPOSITORY", REPO)
                .env("GITHUB_API_URL", &api_url)
                .env("GITHUB_SERVER_URL", "https://github.example")
                .env("GITHUB_WORKSPACE", &workspace)
                .env("GITHUB_RUN_ID", "99")
                .env("GITHUB_OUTPUT", dir.join("output.txt"))
                .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
                .env("GITHUB_TOKEN", TOKEN)
                .current_dir(&workspace)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", stdout(&output), stderr(&output));
    // The job log (stderr is not a terminal) says where the run is: one line per stage, in order.
    let stages: Vec<String> = stderr(&output)
        .lines()
        .filter_map(|line| line.strip_prefix('[')?.split_once(" s] ").map(|(_, rest)| rest.to_owned()))
        .map(|rest| rest.split(':').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(stages, ["localize", "repair", "validate"], "{}", stderr(&output));
    assert!(
        stdout(&output).contains("draft pull request https://github.example/octo/tinyinvoice/pull/12"),
        "{}",
        stdout(&output)
    );

    // The fix is on the pushed branch, on top of main.
    let branch = git(&remote, &["rev-parse", "refs/heads/agentless/issue-3"]);
    let diff = git(&remote, &["diff", "main", &branch]);
    assert!(diff.contains("rounding=\"ROUND_HALF_UP\""), "{diff}");
    // A draft pull request that fixes the issue, carrying the report.
    let requests = server.received_requests().await.unwrap();
    let pull = requests
        .iter()
        .find(|request| request.method.as_str() == "POST" && request.url.path().ends_with("/pulls"))
        .unwrap();
    let pull: Value = serde_json::from_slice(&pull.body).unwrap();
    assert_eq!(pull["draft"], true);
    assert_eq!(pull["head"], "agentless/issue-3");
    let body = pull["body"].as_str().unwrap();
    assert!(body.contains("Fixes #3") && body.contains("fewest regressions"), "{body}");
    // The workspace is untouched, and the token never printed.
    assert_eq!(git(&workspace, &["status", "--porcelain"]), "");
    assert!(!stdout(&output).contains(TOKEN) && !stderr(&output).contains(TOKEN));
    let outputs = fs_err::read_to_string(dir.path().join("output.txt")).unwrap();
    assert!(outputs.contains("pr-url=https://github.example/octo/tinyinvoice/pull/12"), "{outputs}");
}
