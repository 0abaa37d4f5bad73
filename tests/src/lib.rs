//! A scripted model server on loopback for end-to-end tests and offline demos: it speaks the OpenAI chat
//! completions and Anthropic messages wire formats, answers each pipeline stage (the `x-agentless-stage` header)
//! from a script, and records every request so tests can assert what was sent.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The header every agentless request carries.
pub const STAGE_HEADER: &str = "x-agentless-stage";

/// What to answer, per stage, in order. The last answer of a stage is repeated once the queue is down to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Script {
    pub stages: BTreeMap<String, Vec<Answer>>,
}

/// One answer to one request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// Sample texts; an OpenAI request asking for `n` gets the first `n` (cycled if fewer are scripted).
    Samples(Vec<String>),
    /// An HTTP failure: status and body, optionally with `Retry-After` seconds.
    Failure { status: u16, body: String, retry_after: Option<u64> },
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read the script")]
    Io(#[from] std::io::Error),
    #[error("the script is not valid JSON")]
    Json(#[from] serde_json::Error),
}

impl Script {
    pub fn load(path: &Path) -> Result<Self, ScriptError> {
        Ok(serde_json::from_str(&fs_err::read_to_string(path)?)?)
    }

    /// Add `samples` as the next answer of `stage`.
    pub fn answer(mut self, stage: &str, samples: &[&str]) -> Self {
        self.stages
            .entry(stage.to_owned())
            .or_default()
            .push(Answer::Samples(samples.iter().map(|sample| (*sample).to_owned()).collect()));
        self
    }

    /// Add a failure as the next answer of `stage`.
    pub fn fail(mut self, stage: &str, status: u16, retry_after: Option<u64>) -> Self {
        self.stages.entry(stage.to_owned()).or_default().push(Answer::Failure {
            status,
            body: format!("{{\"error\":{{\"message\":\"scripted {status}\"}}}}"),
            retry_after,
        });
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub stage: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

impl Received {
    /// The user prompt (OpenAI: the last message; Anthropic: the text of the last message).
    pub fn prompt(&self) -> String {
        let Some(last) = self.body["messages"].as_array().and_then(|messages| messages.last()) else {
            return String::new();
        };
        match &last["content"] {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Array(blocks) => {
                blocks.iter().filter_map(|block| block["text"].as_str()).collect::<Vec<_>>().join("")
            }
            _ => String::new(),
        }
    }
}

#[derive(Default)]
struct State {
    queues: BTreeMap<String, VecDeque<Answer>>,
    received: Vec<Received>,
}

/// The running server. Dropping it stops it.
pub struct ScriptedModelServer {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl ScriptedModelServer {
    pub async fn start(script: Script) -> Self {
        let server = MockServer::start().await;
        let queues = script.stages.into_iter().map(|(stage, answers)| (stage, answers.into())).collect();
        let state = Arc::new(Mutex::new(State { queues, received: Vec::new() }));
        Mock::given(method("POST"))
            .and(path_regex(r"/(chat/completions|messages|embeddings)$"))
            .respond_with(Responder { state: Arc::clone(&state) })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The base URL to give `--base-url` (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().map(|state| state.received.clone()).unwrap_or_default()
    }

    /// The requests of one stage.
    pub fn received_for(&self, stage: &str) -> Vec<Received> {
        self.received().into_iter().filter(|received| received.stage == stage).collect()
    }
}

struct Responder {
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let stage = request.headers.get(STAGE_HEADER).and_then(|value| value.to_str().ok()).unwrap_or("").to_owned();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("<binary>").to_owned()))
            .collect();
        let path = request.url.path().to_owned();
        let Ok(mut state) = self.state.lock() else {
            return ResponseTemplate::new(500).set_body_string("scripted server state poisoned");
        };
        state.received.push(Received { stage: stage.clone(), path: path.clone(), headers, body: body.clone() });
        if path.ends_with("/embeddings") {
            return ResponseTemplate::new(200).set_body_json(embeddings(&body));
        }
        let answer = match state.queues.get_mut(&stage) {
            Some(queue) if queue.len() > 1 => queue.pop_front(),
            Some(queue) => queue.front().cloned(),
            None => None,
        };
        match answer {
            None => ResponseTemplate::new(404)
                .set_body_string(format!("{{\"error\":{{\"message\":\"no scripted answer for stage `{stage}`\"}}}}")),
            Some(Answer::Failure { status, body, retry_after }) => {
                let mut template = ResponseTemplate::new(status).set_body_string(body);
                if let Some(seconds) = retry_after {
                    template = template.insert_header("retry-after", seconds.to_string());
                }
                template
            }
            Some(Answer::Samples(samples)) if path.ends_with("/messages") => {
                let text = samples.first().cloned().unwrap_or_default();
                ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "id": "msg_scripted",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": prompt_tokens(&body), "output_tokens": text.len() / 4 + 1,
                              "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
                }))
            }
            Some(Answer::Samples(samples)) => {
                let n = body["n"].as_u64().unwrap_or(1).max(1) as usize;
                let choices: Vec<serde_json::Value> = (0..n)
                    .map(|index| {
                        let text = if samples.is_empty() { "" } else { samples[index % samples.len()].as_str() };
                        serde_json::json!({"index": index, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": text}})
                    })
                    .collect();
                let completion: usize = choices
                    .iter()
                    .map(|choice| choice["message"]["content"].as_str().map_or(0, str::len) / 4 + 1)
                    .sum();
                ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "id": "chatcmpl-scripted",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": choices,
                    "usage": {"prompt_tokens": prompt_tokens(&body), "completion_tokens": completion,
                              "total_tokens": prompt_tokens(&body) + completion}
                }))
            }
        }
    }
}

/// Deterministic 26-dimensional "embeddings": how often each letter occurs, so texts that share words are close.
fn embeddings(body: &serde_json::Value) -> serde_json::Value {
    let inputs: Vec<String> = match &body["input"] {
        serde_json::Value::String(text) => vec![text.clone()],
        serde_json::Value::Array(items) => items.iter().map(|item| item.as_str().unwrap_or("").to_owned()).collect(),
        _ => Vec::new(),
    };
    let data: Vec<serde_json::Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let mut vector = [0f32; 26];
            for byte in text.bytes().filter(u8::is_ascii_alphabetic) {
                vector[usize::from(byte.to_ascii_lowercase() - b'a')] += 1.0;
            }
            serde_json::json!({"object": "embedding", "index": index, "embedding": vector.to_vec()})
        })
        .collect();
    // A rough token count (characters / 4 per input), so embeddings have a non-zero, deterministic cost.
    let tokens: usize = inputs.iter().map(|text| text.len() / 4 + 1).sum();
    serde_json::json!({"object": "list", "data": data, "model": body["model"],
                       "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
}

/// A rough token count (characters / 4) so usage and cost are non-zero and deterministic.
fn prompt_tokens(body: &serde_json::Value) -> usize {
    body["messages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .map(|message| match &message["content"] {
                    serde_json::Value::String(text) => text.len(),
                    other => other.to_string().len(),
                })
                .sum::<usize>()
        })
        .unwrap_or(0)
        / 4
        + 1
}

/// The `agentless` binary next to the test executable (`target/<profile>/agentless`), brought up to date once
/// per test process with `cargo build --bin agentless` (a package's tests do not rebuild another package's binary).
pub fn agentless_bin() -> PathBuf {
    static BUILD: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let built = BUILD.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.args(["build", "--quiet", "--bin", "agentless"]).current_dir(workspace_root());
        if profile_dir.file_name().is_some_and(|name| name == "release") {
            command.arg("--release");
        }
        match command.output() {
            Ok(output) if output.status.success() => Ok(()),
            Ok(output) => Err(format!("{}:\n{}", output.status, String::from_utf8_lossy(&output.stderr))),
            Err(error) => Err(format!("cannot run cargo: {error}")),
        }
    });
    // A failed build leaves the old binary in place: every test that asks for it fails with the compiler's output
    // instead of testing stale code.
    if let Err(why) = built {
        panic!("`cargo build --bin agentless` failed, so the tests would run a stale binary; {why}");
    }
    profile_dir.join(format!("agentless{}", std::env::consts::EXE_SUFFIX))
}

/// Run git in `dir` with a throwaway identity and return its trimmed stdout; a failure fails the test.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output();
    match output {
        Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        Ok(output) => panic!("git {args:?}: {}", String::from_utf8_lossy(&output.stderr)),
        Err(error) => panic!("git {args:?}: {error}"),
    }
}

/// The workspace root (for bundled examples and `../shared/data`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Set (to anything non-empty) to make tests that need a Docker engine fail when none is reachable, instead of
/// skipping; `.ci/run` sets it.
pub const REQUIRE_DOCKER: &str = "AGENTLESS_REQUIRE_DOCKER";
/// Set (to anything) to make missing bubblewrap or control groups fail the containment tests instead of skipping
/// them (`.ci/run` sets it).
pub const REQUIRE_CONTAINMENT: &str = "AGENTLESS_REQUIRE_CONTAINMENT";

/// Set (to anything non-empty) to make tests that read the shared SWE-bench data fail when it is not there, instead
/// of skipping; `.ci/run` sets it.
pub const REQUIRE_SWEBENCH_DATA: &str = "AGENTLESS_REQUIRE_SWEBENCH_DATA";

/// Skips `test` for `why` with a banner written straight to stderr (the test harness captures `eprintln!`, so a
/// skip would otherwise go unseen), or fails it when the environment variable `require` is set.
/// Whether a Docker engine answers (through the `docker` CLI); skips `test` loudly, or fails it when
/// [`REQUIRE_DOCKER`] is set, when none does.
pub fn docker_available(test: &str) -> bool {
    let reachable = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !reachable {
        skip_loudly(test, "no Docker engine is reachable", REQUIRE_DOCKER);
    }
    reachable
}

pub fn skip_loudly(test: &str, why: &str, require: &str) {
    let required = std::env::var_os(require).is_some_and(|value| !value.is_empty());
    assert!(!required, "{test}: {require} is set but {why}");
    let banner = format!("\n!!!!! SKIPPED {test}: {why} (set {require}=1 to fail instead) !!!!!\n\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
}
