//! The local sandbox: a temporary folder on the host with a copy of the files (its own git baseline) and a
//! virtualenv beside it. No isolation beyond process groups; the user's working tree is never touched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;

use super::output::CappedOutput;
use super::project::{ProjectFiles, Setup, SetupStep};
use super::{DRAIN_TIMEOUT, ExecOutput, ExecRequest, PatchOutcome, Sandbox, SandboxError, TIMEOUT_EXIT_CODE};

const STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const BASELINE_COMMIT: &str = "git init -q && git add -A -f && git -c user.name=agentless \
     -c user.email=agentless@localhost -c commit.gpgsign=false commit -q --no-verify --allow-empty -m baseline";

#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The interpreter the virtualenv is made from.
    pub python: String,
    pub setup: Setup,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self { python: "python3".to_owned(), setup: Setup::Auto }
    }
}

/// A checkout at `<tmp>/repo` with a baseline commit and a virtualenv at `<tmp>/venv`; removed when dropped.
#[derive(Debug)]
pub struct LocalSandbox {
    root: tempfile::TempDir,
    repo: String,
    venv: PathBuf,
    setup_log: String,
    exec_lock: tokio::sync::Mutex<()>,
}

impl LocalSandbox {
    /// Copy `files` into a new temporary folder, create the virtualenv, install the dependencies and commit the
    /// baseline (after the installation, so files it builds in place survive resets).
    pub async fn create(files: &ProjectFiles, options: &LocalOptions) -> Result<Self, SandboxError> {
        let root = tempfile::Builder::new().prefix("agentless-sandbox-").tempdir()?;
        let repo = root.path().join("repo");
        fs_err::create_dir_all(&repo)?;
        files.write_to(&repo)?;
        let venv = root.path().join("venv");
        let mut sandbox = Self {
            repo: repo.to_string_lossy().into_owned(),
            venv,
            root,
            setup_log: String::new(),
            exec_lock: tokio::sync::Mutex::new(()),
        };
        let without_pip = match options.setup {
            Setup::Bare => " --without-pip",
            Setup::Auto | Setup::Command(_) => "",
        };
        let venv_text = sandbox.venv.to_string_lossy().into_owned();
        let mut steps = vec![SetupStep {
            command: format!("{} -m venv{without_pip} {}", options.python, super::project::shell_quote(&venv_text)),
            required: true,
        }];
        steps.extend(options.setup.steps(files, "--no-input"));
        steps.push(SetupStep { command: BASELINE_COMMIT.to_owned(), required: true });
        for step in steps {
            tracing::info!(command = %step.command, "local sandbox setup");
            let output = sandbox.exec(&ExecRequest::new(["sh", "-c", &step.command], STEP_TIMEOUT)).await?;
            let text = format!("{}{}", output.stdout, output.stderr);
            let _ = writeln!(
                sandbox.setup_log,
                "$ {}\n(exit code {})\n{}",
                step.command,
                output.exit_code,
                text.trim_end()
            );
            if !output.success() {
                if step.required {
                    return Err(SandboxError::Setup {
                        command: step.command,
                        exit_code: output.exit_code,
                        output: text,
                    });
                }
                tracing::warn!(command = %step.command, exit_code = output.exit_code, "optional setup step failed");
            }
        }
        Ok(sandbox)
    }

    /// Every setup step with its exit code and output.
    pub fn setup_log(&self) -> &str {
        &self.setup_log
    }

    pub fn venv(&self) -> &Path {
        &self.venv
    }
}

/// SIGKILLs the process group when dropped: at the end of every exec (stragglers), and when the exec is cancelled.
struct ProcessGroup(Option<Pid>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

#[async_trait]
impl Sandbox for LocalSandbox {
    fn workdir(&self) -> &str {
        &self.repo
    }

    async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
        let Some((program, args)) = request.argv.split_first() else {
            return Err(SandboxError::EmptyArgv);
        };
        let _one_at_a_time = self.exec_lock.lock().await;
        let started = Instant::now();
        let cwd = match &request.cwd {
            Some(cwd) => Path::new(&self.repo).join(cwd),
            None => PathBuf::from(&self.repo),
        };
        let mut path = std::ffi::OsString::from(self.venv.join("bin"));
        if let Some(host_path) = std::env::var_os("PATH") {
            path.push(":");
            path.push(host_path);
        }
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .current_dir(&cwd)
            .env("PATH", path)
            .env("VIRTUAL_ENV", &self.venv)
            .env_remove("PYTHONHOME")
            .envs(request.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SandboxError::Spawn { program: program.clone(), source })?;
        let group = ProcessGroup(child.id().and_then(|pid| i32::try_from(pid).ok()).map(Pid::from_raw));
        let (Some(mut child_stdout), Some(mut child_stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(SandboxError::Spawn {
                program: program.clone(),
                source: std::io::Error::other("the child's pipes are missing"),
            });
        };

        let mut stdout = CappedOutput::new(request.output_cap);
        let mut stderr = CappedOutput::new(request.output_cap);
        let (mut stdout_buffer, mut stderr_buffer) = (vec![0; 16 * 1024], vec![0; 16 * 1024]);
        let (mut stdout_open, mut stderr_open) = (true, true);
        let deadline = tokio::time::Instant::from_std(started + request.timeout);
        let mut status = None;
        let mut timed_out = false;
        let mut drain_until: Option<tokio::time::Instant> = None;
        while stdout_open || stderr_open || status.is_none() {
            let drain_deadline = drain_until.unwrap_or(deadline + Duration::from_secs(86_400));
            tokio::select! {
                read = child_stdout.read(&mut stdout_buffer), if stdout_open => match read {
                    Ok(0) | Err(_) => stdout_open = false,
                    Ok(count) => stdout.push(&stdout_buffer[..count]),
                },
                read = child_stderr.read(&mut stderr_buffer), if stderr_open => match read {
                    Ok(0) | Err(_) => stderr_open = false,
                    Ok(count) => stderr.push(&stderr_buffer[..count]),
                },
                waited = child.wait(), if status.is_none() => {
                    status = Some(waited?);
                    drain_until = Some(tokio::time::Instant::now() + DRAIN_TIMEOUT);
                },
                () = tokio::time::sleep_until(deadline), if !timed_out && status.is_none() => {
                    timed_out = true;
                    if let Some(group) = group.0 {
                        let _ = killpg(group, Signal::SIGKILL);
                    }
                },
                () = tokio::time::sleep_until(drain_deadline), if drain_until.is_some() => break,
            }
        }
        drop(group);
        let exit_code = if timed_out {
            TIMEOUT_EXIT_CODE
        } else {
            status
                .and_then(|status| {
                    status
                        .code()
                        .or_else(|| std::os::unix::process::ExitStatusExt::signal(&status).map(|signal| 128 + signal))
                })
                .unwrap_or(-1)
        };
        let (stdout, stdout_truncated) = stdout.finish();
        let (stderr, stderr_truncated) = stderr.finish();
        Ok(ExecOutput {
            exit_code,
            stdout,
            stderr,
            timed_out,
            truncated: stdout_truncated || stderr_truncated,
            duration: started.elapsed(),
        })
    }

    async fn write_file(&self, relative_path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let target = Path::new(&self.repo).join(super::checked_relative_path(relative_path)?);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(target, contents)?;
        Ok(())
    }

    fn isolation(&self) -> super::Isolation {
        super::Isolation {
            mechanism: "none".to_owned(),
            network_cut: false,
            host_read_only: false,
            secrets_hidden: false,
            processes_contained: false,
            process_limit: None,
            memory_limit: None,
        }
    }

    async fn reset(&self) -> Result<(), SandboxError> {
        super::reset_to_baseline(self).await
    }

    async fn recover(&self) -> Result<(), SandboxError> {
        super::reset_to_baseline(self).await
    }

    async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError> {
        let patch_path = self.root.path().join("candidate.patch");
        fs_err::write(&patch_path, patch)?;
        super::patch::apply_with_fallbacks(self, &patch_path.to_string_lossy()).await
    }
}
