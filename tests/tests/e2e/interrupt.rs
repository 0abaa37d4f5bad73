//! Interrupting `agentless run` while a candidate's test runs: Ctrl-C, SIGTERM and SIGHUP end the run with 128 +
//! the signal and leave no test process, sandbox copy or container; kill -9 leaves none once the next run starts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentless_tests::{Script, ScriptedModelServer, agentless_bin, docker_available, workspace_root};

use crate::example_repo;

/// A candidate whose tests never end (a loop at import), so the run is caught inside a test.
const ENDLESS: &str = "```python\n### tinyinvoice/money.py\n<<<<<<< SEARCH\n    def rounded(self):\n=======\n    \
                       exec('import time\\nwhile True:\\n    time.sleep(0.05)\\n', {})\n\n    def rounded(self):\n\
                       >>>>>>> REPLACE\n```";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Local,
    Docker,
}

fn start_run(home: &Path, base_url: &str, sandbox: Where) -> Child {
    let repo = example_repo();
    let issue = workspace_root().join("examples/tinyinvoice.issue.md");
    let mut command = Command::new(agentless_bin());
    command
        .args(["run", "--repo"])
        .arg(&repo)
        .arg("--issue")
        .arg(&issue)
        .arg("--out")
        .arg(home.join("run"))
        .args(["--model", "openai:gpt-4o-2024-05-13", "--base-url", base_url])
        .args(["--edit-samples", "1", "--samples", "1", "--reproduction-tests", "0", "--test-timeout", "600"])
        .args(["--no-cache", "--workers", "1"])
        .args(match sandbox {
            Where::Local => ["--sandbox", "local"],
            Where::Docker => ["--sandbox", "docker"],
        })
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("OPENAI_API_KEY", "sk-test")
        .env("NO_COLOR", "1")
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command.spawn().unwrap()
}

/// Processes whose environment marks them as test processes of a local sandbox of `owner`.
fn sandbox_processes(owner: u32) -> Vec<i32> {
    let marker = format!("SANDBOX_ID={}/agentless-sandbox-{owner}-", std::env::temp_dir().display());
    let mut found = Vec::new();
    for entry in fs_err::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else { continue };
        let Ok(environ) = fs_err::read(entry.path().join("environ")) else { continue };
        if environ.split(|&byte| byte == 0).any(|variable| variable.starts_with(marker.as_bytes())) {
            found.push(pid);
        }
    }
    found
}

fn sandbox_folders(owner: u32) -> Vec<PathBuf> {
    let prefix = format!("agentless-sandbox-{owner}-");
    fs_err::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .map(|entry| entry.path())
        .collect()
}

/// Containers labelled as created by `owner`.
fn containers_of(owner: u32) -> Vec<String> {
    let output = Command::new("docker")
        .args(["ps", "-a", "--filter", &format!("label=agentless.owner-pid={owner}"), "--format", "{{.ID}}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

/// Poll `condition` every 100 ms for at most `limit` (a bound, not a timed assertion).
fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    condition()
}

/// Whether the run's test is running: a marked process (local) or a container with the endless import (Docker).
fn test_is_running(owner: u32, sandbox: Where) -> bool {
    match sandbox {
        Where::Local => !sandbox_processes(owner).is_empty(),
        Where::Docker => containers_of(owner).iter().any(|container| {
            Command::new("docker")
                .args(["top", container])
                .output()
                .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains("unittest"))
        }),
    }
}

async fn interrupt(sandbox: Where, signal: &str) {
    let mut script = Script::load(&workspace_root().join("examples/tinyinvoice.script.json")).unwrap();
    script.stages.remove("repair");
    let server = ScriptedModelServer::start(script.answer("repair", &[ENDLESS])).await;
    let base_url = server.base_url();
    let signal = signal.to_owned();
    tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        let mut child = start_run(home.path(), &base_url, sandbox);
        let owner = child.id();
        assert!(
            wait_for(Duration::from_secs(600), || test_is_running(owner, sandbox)
                || child.try_wait().unwrap().is_some()),
            "the candidate's test never started"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its test: {:?}", child.wait_with_output());
        let status = Command::new("kill").args([format!("-{signal}"), owner.to_string()]).status().unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if signal == "KILL" {
            // The next run starts and reaps what the killed one left.
            fs_err::create_dir_all(home.path().join("next")).unwrap();
            let mut next = start_run(home.path().join("next").as_path(), "http://127.0.0.1:9", sandbox);
            let _ = next.wait();
        } else {
            let expected = match signal.as_str() {
                "INT" => 130,
                "TERM" => 143,
                _ => 129,
            };
            assert_eq!(output.status.code(), Some(expected), "{stderr}");
            assert!(stderr.contains("interrupted by SIG"), "{stderr}");
        }
        assert!(
            wait_for(Duration::from_secs(30), || sandbox_processes(owner).is_empty()),
            "test processes outlived the run: {:?}",
            sandbox_processes(owner)
        );
        assert!(sandbox_folders(owner).is_empty(), "sandbox copies left: {:?}", sandbox_folders(owner));
        if sandbox == Where::Docker {
            assert!(containers_of(owner).is_empty(), "containers left: {:?}", containers_of(owner));
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_sigterm_sighup_and_kill_leave_nothing_behind_locally() {
    for signal in ["INT", "TERM", "HUP", "KILL"] {
        interrupt(Where::Local, signal).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_sigterm_and_kill_leave_nothing_behind_in_docker() {
    if !docker_available("the Docker interruption test") {
        return;
    }
    for signal in ["INT", "TERM", "KILL"] {
        interrupt(Where::Docker, signal).await;
    }
}
