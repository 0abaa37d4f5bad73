//! The local sandbox: exec, timeouts, output caps, patches and resets in a temporary copy.

use std::path::Path;
use std::time::Duration;

use agentless_sandbox::local::{LocalOptions, LocalSandbox};
use agentless_sandbox::{
    ExecRequest, PatchMethod, ProjectFiles, Sandbox, SandboxError, Setup, TIMEOUT_EXIT_CODE, TRUNCATION_MARKER,
};
use pretty_assertions::assert_eq;

use crate::support::{BROKEN, CORE, FIX, project, shell};

async fn sandbox() -> LocalSandbox {
    LocalSandbox::create(&project(), &LocalOptions { setup: Setup::Bare, ..LocalOptions::default() }).await.unwrap()
}

fn read(sandbox: &LocalSandbox, path: &str) -> String {
    fs_err::read_to_string(Path::new(sandbox.workdir()).join(path)).unwrap()
}

#[tokio::test]
async fn exec_runs_in_the_checkout_with_the_virtualenv_first() {
    let sandbox = sandbox().await;
    let output = sandbox
        .exec(&shell(
            "pwd; command -v python; echo \"$GREETING\" >&2; python -c 'import calc; print(calc.add(5, 2))'; exit 3",
        ))
        .await
        .unwrap();
    let mut request = shell("echo \"$GREETING\" >&2");
    request.env.push(("GREETING".to_owned(), "hello".to_owned()));
    let with_env = sandbox.exec(&request).await.unwrap();
    assert_eq!(output.exit_code, 3);
    let venv_python = sandbox.venv().join("bin/python");
    assert_eq!(output.stdout, format!("{}\n{}\n3\n", sandbox.workdir(), venv_python.display()));
    assert_eq!(with_env.stderr, "hello\n");
    assert!(!output.timed_out && !output.truncated);
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group_and_the_next_exec_works() {
    let sandbox = sandbox().await;
    let mut request = shell("(sleep 2; touch escaped) & while :; do :; done");
    request.timeout = Duration::from_millis(500);
    let output = sandbox.exec(&request).await.unwrap();
    assert_eq!((output.exit_code, output.timed_out), (TIMEOUT_EXIT_CODE, true));
    // Had the kill waited for the background child, it would have found the file written 2 s in; a survivor
    // writes it later, and the next command (which runs for longer than that) sees it.
    assert!(!Path::new(sandbox.workdir()).join("escaped").exists(), "the kill waited for the background child");
    let next = sandbox.exec(&shell("sleep 3; test -e escaped && echo escaped || echo ok")).await.unwrap();
    assert_eq!((next.exit_code, next.stdout.as_str()), (0, "ok\n"), "the background child survived the kill");
}

#[tokio::test]
async fn a_grandchild_holding_the_pipes_cannot_hang_the_exec() {
    let sandbox = sandbox().await;
    // Waiting for the pipes to close would capture `late`, or hit the command's timeout.
    let output = sandbox.exec(&shell("(sleep 60; echo late) & echo started")).await.unwrap();
    assert_eq!((output.exit_code, output.stdout.as_str(), output.timed_out), (0, "started\n", false));
}

#[tokio::test]
async fn output_beyond_the_cap_is_cut_and_marked() {
    let sandbox = sandbox().await;
    let mut request = shell("python -c \"print('a' * 5000 + 'b' * 5000 + 'END')\"");
    request.output_cap = 100;
    let output = sandbox.exec(&request).await.unwrap();
    assert!(output.truncated, "{output:?}");
    assert_eq!(output.stdout, format!("{}\n{TRUNCATION_MARKER}\n{}END\n", "a".repeat(50), "b".repeat(46)));
}

#[tokio::test]
async fn a_clean_patch_applies_with_git_apply() {
    let sandbox = sandbox().await;
    let outcome = sandbox.apply_patch(FIX).await.unwrap();
    assert_eq!(outcome.method, Some(PatchMethod::GitApply), "{}", outcome.log());
    assert_eq!(read(&sandbox, "calc/core.py"), "def add(a, b):\n    return a + b\n");
}

#[tokio::test]
async fn a_patch_with_stale_context_falls_back_to_patch_with_fuzz() {
    let sandbox = sandbox().await;
    let stale =
        "--- a/calc/notes.txt\n+++ b/calc/notes.txt\n@@ -2,5 +2,5 @@\n two\n THREE\n-four\n+FOUR\n five\n six\n";
    let outcome = sandbox.apply_patch(stale).await.unwrap();
    let methods: Vec<PatchMethod> = outcome.attempts.iter().map(|attempt| attempt.method).collect();
    assert_eq!(methods, [PatchMethod::GitApply, PatchMethod::GitApplyReject, PatchMethod::PatchFuzz]);
    assert_eq!(outcome.method, Some(PatchMethod::PatchFuzz), "{}", outcome.log());
    assert_eq!(read(&sandbox, "calc/notes.txt"), "one\ntwo\nthree\nFOUR\nfive\nsix\nseven\n");
    let status = sandbox.exec(&shell("git status --porcelain")).await.unwrap();
    assert_eq!(status.stdout, " M calc/notes.txt\n", "no .rej or .orig files are left");
}

#[tokio::test]
async fn a_patch_that_does_not_apply_is_recorded_and_leaves_the_baseline() {
    let sandbox = sandbox().await;
    let outcome = sandbox.apply_patch(BROKEN).await.unwrap();
    assert!(!outcome.applied());
    assert_eq!(outcome.attempts.len(), 3);
    assert!(outcome.attempts.iter().all(|attempt| attempt.exit_code != 0));
    assert!(outcome.log().contains("patch does not apply"), "{}", outcome.log());
    let status = sandbox.exec(&shell("git status --porcelain --ignored")).await.unwrap();
    assert_eq!(status.stdout, "");
    assert_eq!(read(&sandbox, "calc/core.py"), CORE);
}

#[tokio::test]
async fn reset_restores_the_baseline_and_spares_the_virtualenv() {
    let sandbox = sandbox().await;
    sandbox.apply_patch(FIX).await.unwrap();
    sandbox.write_file("new/deep/file.py", b"x = 1\n").await.unwrap();
    sandbox.exec(&shell("rm tests/test_core.py calc/notes.txt && mkdir -p build && touch build/x.o")).await.unwrap();
    sandbox.reset().await.unwrap();
    let status = sandbox.exec(&shell("git status --porcelain --ignored")).await.unwrap();
    assert_eq!(status.stdout, "");
    assert_eq!(read(&sandbox, "calc/core.py"), CORE);
    assert_eq!(read(&sandbox, "calc/notes.txt"), "one\ntwo\nthree\nfour\nfive\nsix\nseven\n");
    assert!(sandbox.venv().join("bin/python").exists());
}

#[tokio::test]
async fn files_are_written_inside_the_checkout_only() {
    let sandbox = sandbox().await;
    sandbox.write_file("a/b/c.py", b"print('hi')\n").await.unwrap();
    let output = sandbox.exec(&ExecRequest::new(["python", "a/b/c.py"], Duration::from_secs(30))).await.unwrap();
    assert_eq!(output.stdout, "hi\n");
    assert!(matches!(sandbox.write_file("../escape.py", b"").await, Err(SandboxError::InvalidPath { .. })));
    assert!(matches!(
        sandbox.exec(&ExecRequest::new(Vec::<String>::new(), Duration::from_secs(1))).await,
        Err(SandboxError::EmptyArgv)
    ));
}

#[tokio::test]
async fn the_users_folder_is_never_touched() {
    let user = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(user.path().join("calc")).unwrap();
    fs_err::write(user.path().join("calc/core.py"), CORE).unwrap();
    fs_err::create_dir_all(user.path().join(".git")).unwrap();
    fs_err::write(user.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    let files = ProjectFiles::from_folder(user.path()).unwrap();
    let paths: Vec<&str> = files.files().iter().map(|file| file.path.as_str()).collect();
    assert_eq!(paths, ["calc/core.py"]);
    let sandbox =
        LocalSandbox::create(&files, &LocalOptions { setup: Setup::Bare, ..LocalOptions::default() }).await.unwrap();
    assert!(sandbox.apply_patch(FIX).await.unwrap().applied());
    sandbox.reset().await.unwrap();
    assert_eq!(fs_err::read_to_string(user.path().join("calc/core.py")).unwrap(), CORE);
    assert_eq!(fs_err::read_to_string(user.path().join(".git/HEAD")).unwrap(), "ref: refs/heads/main\n");
    let workdir = sandbox.workdir().to_owned();
    drop(sandbox);
    assert!(!Path::new(&workdir).exists(), "the temporary copy is removed on drop");
}

#[tokio::test]
async fn a_failing_setup_command_is_a_typed_error() {
    let options = LocalOptions { setup: Setup::Command("echo nope >&2; exit 7".to_owned()), ..LocalOptions::default() };
    let error = LocalSandbox::create(&project(), &options).await.unwrap_err();
    let SandboxError::Setup { command, exit_code, output } = error else { panic!("{error}") };
    assert_eq!((command.as_str(), exit_code, output.as_str()), ("echo nope >&2; exit 7", 7, "nope\n"));
}
