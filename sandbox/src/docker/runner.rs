//! The host side of the in-container runner (`runner.py`): one long-lived exec per worker that runs every command
//! sent to it, so a candidate pays for no `docker exec`. The runner enforces the timeout, kills stragglers and
//! drains; the host keeps a backstop that kills every process of the sandbox user when the runner does not answer.

use std::pin::Pin;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::CreateExecOptions;
use futures::StreamExt;
use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{AGENT_USER, AttachedExec, OutputStream, SYSTEM_PATH, kill_user_processes};
use crate::output::CappedOutput;
use crate::{ExecOutput, ExecRequest, SandboxError, TIMEOUT_EXIT_CODE};

pub(super) const RUNNER_SCRIPT: &str = include_str!("runner.py");
/// How long past the request's timeout the host waits for the runner before killing everything itself.
const BACKSTOP: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize)]
#[serde(tag = "t")]
enum Frame {
    #[serde(rename = "ready")]
    Ready,
    #[serde(rename = "o")]
    Stdout { d: String },
    #[serde(rename = "e")]
    Stderr { d: String },
    #[serde(rename = "done")]
    Done { code: i32, timed_out: bool },
}

/// Bytes sent as latin-1 text back to bytes.
fn latin1_bytes(text: &str) -> Vec<u8> {
    text.chars().map(|character| u8::try_from(u32::from(character)).unwrap_or(b'?')).collect()
}

fn latin1_text(bytes: &[u8]) -> String {
    bytes.iter().map(|&byte| char::from(byte)).collect()
}

pub(super) struct Runner {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: OutputStream,
    pending: Vec<u8>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Runner").finish_non_exhaustive()
    }
}

/// Why a request did not complete; the runner is dropped after any of them.
pub(super) enum RunnerFailure {
    /// The runner is gone (it died or its stream broke).
    Lost(String),
    Sandbox(SandboxError),
}

impl Runner {
    pub(super) async fn start(docker: &Docker, container: &str) -> Result<Self, SandboxError> {
        let options = CreateExecOptions {
            cmd: Some(vec!["/usr/bin/python3".to_owned(), "-u".to_owned(), "-c".to_owned(), RUNNER_SCRIPT.to_owned()]),
            env: Some(vec![format!("PATH={SYSTEM_PATH}"), "LANG=C.UTF-8".to_owned()]),
            user: Some(AGENT_USER.to_owned()),
            working_dir: Some("/".to_owned()),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..CreateExecOptions::default()
        };
        let AttachedExec { output, input, .. } = AttachedExec::start(docker, container, options, "the runner").await?;
        let mut runner = Self { input, output, pending: Vec::new() };
        match tokio::time::timeout(START_TIMEOUT, runner.next_frame()).await {
            Ok(Ok(Frame::Ready)) => Ok(runner),
            Ok(Ok(other)) => Err(lost(&format!("the runner began with {other:?}"))),
            Ok(Err(RunnerFailure::Lost(reason))) => Err(lost(&reason)),
            Ok(Err(RunnerFailure::Sandbox(error))) => Err(error),
            Err(_) => Err(lost("the runner did not start in time")),
        }
    }

    async fn next_frame(&mut self) -> Result<Frame, RunnerFailure> {
        loop {
            if let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return serde_json::from_slice(&line).map_err(|error| {
                    RunnerFailure::Lost(format!(
                        "unreadable runner reply {:?}: {error}",
                        String::from_utf8_lossy(&line)
                    ))
                });
            }
            match self.output.next().await {
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => {
                    self.pending.extend_from_slice(&message);
                }
                Some(Ok(LogOutput::StdErr { message })) => {
                    tracing::debug!(message = %String::from_utf8_lossy(&message), "runner stderr");
                }
                Some(Ok(LogOutput::StdIn { .. })) => {}
                Some(Err(error)) => return Err(RunnerFailure::Lost(format!("the runner's stream broke: {error}"))),
                None => return Err(RunnerFailure::Lost("the runner exited".to_owned())),
            }
        }
    }

    async fn send(&mut self, request: &serde_json::Value) -> Result<(), RunnerFailure> {
        let mut line = request.to_string().into_bytes();
        line.push(b'\n');
        let written = async {
            self.input.write_all(&line).await?;
            self.input.flush().await
        };
        // An engine that stops taking the runner's input would otherwise hold this write before any timer starts.
        match tokio::time::timeout(START_TIMEOUT, written).await {
            Ok(written) => written.map_err(|error| RunnerFailure::Lost(format!("writing to the runner: {error}"))),
            Err(_) => Err(RunnerFailure::Lost(format!(
                "the runner took no input for {} s (the engine looks stalled)",
                START_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Run one command; the runner applies the timeout, the host waits [`BACKSTOP`] longer and then kills every
    /// process of the sandbox user (the runner included) and reports a timeout.
    pub(super) async fn exec(
        &mut self,
        docker: &Docker,
        container: &str,
        request: &ExecRequest,
        cwd: &str,
        env: &[String],
    ) -> Result<ExecOutput, RunnerFailure> {
        let started = Instant::now();
        let env: serde_json::Map<String, serde_json::Value> = env
            .iter()
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.to_owned(), serde_json::Value::from(value)))
            .collect();
        let message = serde_json::json!({
            "op": "exec", "argv": request.argv, "cwd": cwd, "env": env, "timeout": request.timeout.as_secs_f64(),
        });
        self.send(&message).await?;
        let mut stdout = CappedOutput::new(request.output_cap);
        let mut stderr = CappedOutput::new(request.output_cap);
        let finished = tokio::time::timeout(request.timeout + BACKSTOP, async {
            loop {
                match self.next_frame().await? {
                    Frame::Stdout { d } => stdout.push(&latin1_bytes(&d)),
                    Frame::Stderr { d } => stderr.push(&latin1_bytes(&d)),
                    Frame::Done { code, timed_out } => return Ok((code, timed_out)),
                    Frame::Ready => {}
                }
            }
        })
        .await;
        let (exit_code, timed_out) = match finished {
            Ok(result) => result?,
            Err(_) => {
                // The runner could not stop the command (or died silently): kill everything, itself included, and
                // report the timeout; the caller drops this runner.
                kill_user_processes(docker, container).await.map_err(RunnerFailure::Sandbox)?;
                (TIMEOUT_EXIT_CODE, true)
            }
        };
        let exit_code = if timed_out { TIMEOUT_EXIT_CODE } else { exit_code };
        Ok(CappedOutput::finish_exec(stdout, stderr, exit_code, timed_out, started.elapsed()))
    }

    /// Write `contents` to the absolute `path` as the sandbox user, creating parent folders.
    pub(super) async fn write(&mut self, path: &str, contents: &[u8]) -> Result<(), RunnerFailure> {
        self.send(&serde_json::json!({"op": "write", "path": path, "data": latin1_text(contents)})).await?;
        let mut errors = Vec::new();
        loop {
            match tokio::time::timeout(START_TIMEOUT, self.next_frame()).await {
                Ok(Ok(Frame::Done { code: 0, .. })) => return Ok(()),
                Ok(Ok(Frame::Done { code, .. })) => {
                    return Err(RunnerFailure::Sandbox(SandboxError::Internal {
                        action: format!("writing {path}"),
                        exit_code: code,
                        output: String::from_utf8_lossy(&errors).into_owned(),
                    }));
                }
                Ok(Ok(Frame::Stderr { d } | Frame::Stdout { d })) => errors.extend(latin1_bytes(&d)),
                Ok(Ok(Frame::Ready)) => {}
                Ok(Err(failure)) => return Err(failure),
                Err(_) => return Err(RunnerFailure::Lost(format!("the runner did not write {path} in time"))),
            }
        }
    }
}

fn lost(reason: &str) -> SandboxError {
    SandboxError::Internal {
        action: "starting the in-container runner".to_owned(),
        exit_code: -1,
        output: reason.to_owned(),
    }
}
