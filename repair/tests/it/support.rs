//! A scripted in-process model (answers chosen by a closure over the request, every request recorded), the
//! fixture repository built in a temporary folder, and `git apply`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use agentless_model::{ChatRequest, Completion, LanguageModel, ModelError, Usage};

pub const COST_PER_CALL: f64 = 0.5;

type Script = dyn Fn(&ChatRequest) -> Result<Vec<String>, ModelError> + Send + Sync;

pub struct ScriptedModel {
    script: Box<Script>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl ScriptedModel {
    pub fn new(script: impl Fn(&ChatRequest) -> Result<Vec<String>, ModelError> + Send + Sync + 'static) -> Self {
        Self { script: Box::new(script), requests: Mutex::new(Vec::new()) }
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl LanguageModel for ScriptedModel {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        self.requests.lock().unwrap().push(request.clone());
        tokio::time::sleep(Duration::from_millis(5)).await;
        let samples = (self.script)(request)?;
        let usage = Usage { prompt_tokens: 100, completion_tokens: 10 * samples.len() as u64, ..Usage::default() };
        Ok(Completion { samples, usage, cost_usd: COST_PER_CALL, from_cache: false })
    }
}

/// `pkg/calc.py` (a trailing-space line 17, `far_away` at line 52), `pkg/util.py`, `pkg/crlf.py` (CRLF) and
/// `pkg/out`, a symlink to a folder outside the repository.
pub fn write_fixture(root: &Path, outside: &Path) {
    let mut calc = String::from(
        "\"\"\"Calculator helpers.\"\"\"\n\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\nclass Calc:\n    def __init__(self):\n        self.total = 0\n\n    def push(self, value):\n        self.total += value   \n        return self.total\n\n\n",
    );
    for n in 21..=50 {
        calc.push_str(&format!("CONSTANT_{n} = {n}\n"));
    }
    calc.push_str("\n\ndef far_away():\n    return 'far'\n");
    fs_err::create_dir_all(root.join("pkg")).unwrap();
    fs_err::write(root.join("pkg/calc.py"), calc).unwrap();
    fs_err::write(
        root.join("pkg/util.py"),
        "import os\n\n\ndef helper(path):\n    return os.path.join('base', path)\n",
    )
    .unwrap();
    fs_err::write(root.join("pkg/crlf.py"), "def greet(name):\r\n    return 'hi ' + name\r\n").unwrap();
    fs_err::write(root.join("pkg/other.py"), "X = 1\n").unwrap();
    std::os::unix::fs::symlink(outside, root.join("pkg/out")).unwrap();
}

/// Runs `git apply` (with `--check` when `check_only`) in `dir` on `patch`; the error output when it fails.
pub fn git_apply(dir: &Path, patch: &str, check_only: bool) -> Result<(), String> {
    let mut command = Command::new("git");
    command.arg("apply");
    if check_only {
        command.arg("--check");
    }
    let mut child = command
        .arg("-")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), patch.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    match output.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
    }
}
