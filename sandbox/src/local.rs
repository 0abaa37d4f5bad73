//! The local sandbox: a copy of the files in a temporary folder (its own git baseline) with a virtualenv beside it.
//! Test processes run under bubblewrap when the machine has it — no network, the host read-only, home, `/run` and
//! the user's repository hidden, a fresh home and temp folder per command, a PID namespace that dies with its run
//! and with agentless — and in control groups with process and memory limits when they can be made (as root).
//! Without bubblewrap the copy, the virtualenv, home and temp are still restored before every candidate, but a
//! test can reach the network and write wherever the user can; [`LocalSandbox::isolation`] says which it is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;

use super::environment::{TestEnvironment, is_secret_name, without_secrets};
use super::output::CappedOutput;
use super::process_start_time;
use super::project::{ProjectFiles, Setup, SetupStep, shell_quote};
use super::scm_version::PRETEND_VERSION;
use super::{
    DRAIN_TIMEOUT, ExecOutput, ExecRequest, Isolation, PatchOutcome, Sandbox, SandboxError, TIMEOUT_EXIT_CODE,
};

const STEP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const HOST_STEP_TIMEOUT: Duration = Duration::from_secs(300);
/// Prefix of every sandbox folder (in the temporary directory) and control group.
pub const SANDBOX_PREFIX: &str = "agentless-sandbox-";
/// Set in every test process, so stray processes of a sandbox without namespaces can be found and killed.
const MARKER_VARIABLE: &str = "SANDBOX_ID";
const OWNER_FILE: &str = "owner";
const GIT_IDENTITY: &str = "-c user.name=agentless -c user.email=agentless@localhost -c commit.gpgsign=false";
/// Generated files that never enter a baseline and are removed by every reset.
const GENERATED_PATTERNS: &str = "__pycache__/\n*.py[cod]\n.pytest_cache/\n";

/// Bubblewrap's arguments before the mounts of a sandbox: every namespace (network included), death with agentless,
/// a session of its own, no capabilities, the host read-only, fresh `/dev` and `/proc`.
const BUBBLEWRAP_BASE: [&str; 12] = [
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
];

/// How test processes are contained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Containment {
    /// Bubblewrap when it works on this machine, otherwise none (and said so).
    #[default]
    Auto,
    /// Bubblewrap or an error.
    Bubblewrap,
    /// None: processes run as the user, with the network.
    Off,
}

/// Limits of a sandbox's test processes, applied through control groups when they can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalLimits {
    pub processes: u64,
    pub memory_bytes: u64,
}

impl Default for LocalLimits {
    fn default() -> Self {
        Self { processes: 1024, memory_bytes: 4 << 30 }
    }
}

#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The interpreter the virtualenv is made from.
    pub python: String,
    pub setup: Setup,
    pub containment: Containment,
    /// The host variables test processes get besides the sandbox's own.
    pub environment: TestEnvironment,
    /// Host paths hidden from test processes besides home, `/root`, `/home`, `/run` and the temporary folders
    /// (e.g. the user's repository, which may hold untracked secrets).
    pub hidden_paths: Vec<PathBuf>,
    pub limits: LocalLimits,
    /// The version setuptools-scm is told during setup (see [`crate::scm_version`]); `None` tells it nothing.
    pub scm_version: Option<String>,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            python: "python3".to_owned(),
            setup: Setup::Auto,
            containment: Containment::Auto,
            environment: TestEnvironment::default(),
            hidden_paths: Vec::new(),
            limits: LocalLimits::default(),
            scm_version: None,
        }
    }
}

/// A checkout at `<tmp>/repo` with a baseline commit, a virtualenv at `<tmp>/venv`, a pristine copy of the
/// baseline at `<tmp>/baseline.git`; removed when dropped.
#[derive(Debug)]
pub struct LocalSandbox {
    root: tempfile::TempDir,
    repo: String,
    venv: PathBuf,
    /// Set when test processes run under bubblewrap.
    bubblewrap: bool,
    control_groups: ControlGroups,
    environment: TestEnvironment,
    hidden_paths: Vec<PathBuf>,
    setup_log: String,
    /// Variables of our own host commands besides the host's: setuptools-scm's pretend version.
    host_variables: Vec<(String, String)>,
    exec_lock: tokio::sync::Mutex<()>,
}

impl LocalSandbox {
    /// Copy `files` into a new temporary folder, commit them (so setuptools-scm and versioneer find a repository),
    /// create the virtualenv, install the dependencies and commit the baseline (after the installation, so files it
    /// builds in place survive resets; bytecode caches left out).
    pub async fn create(files: &ProjectFiles, options: &LocalOptions) -> Result<Self, SandboxError> {
        reap_dead_sandboxes();
        let bubblewrap = match options.containment {
            Containment::Off => false,
            Containment::Auto => bubblewrap_probe().is_ok(),
            Containment::Bubblewrap => match bubblewrap_probe() {
                Ok(()) => true,
                Err(reason) => {
                    return Err(SandboxError::Internal {
                        action: "starting bubblewrap".to_owned(),
                        exit_code: -1,
                        output: reason.clone(),
                    });
                }
            },
        };
        let owner = owner_tag();
        let root = tempfile::Builder::new().prefix(&format!("{SANDBOX_PREFIX}{owner}-")).tempdir()?;
        fs_err::write(root.path().join(OWNER_FILE), &owner)?;
        let repo = root.path().join("repo");
        fs_err::create_dir_all(&repo)?;
        files.write_to(&repo)?;
        let venv = root.path().join("venv");
        let name = root.path().file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let mut sandbox = Self {
            repo: repo.to_string_lossy().into_owned(),
            venv,
            control_groups: ControlGroups::create(&name, &options.limits),
            root,
            bubblewrap,
            environment: options.environment.clone(),
            // Absolute, as bubblewrap needs them; a path that does not exist hides nothing.
            hidden_paths: options.hidden_paths.iter().filter_map(|path| fs_err::canonicalize(path).ok()).collect(),
            setup_log: String::new(),
            host_variables: Vec::new(),
            exec_lock: tokio::sync::Mutex::new(()),
        };
        sandbox.recreate_scratch()?;
        if let Some(version) = &options.scm_version {
            // The copy's repository has one untagged commit: setuptools-scm would make up a version.
            sandbox.host_variables.push((PRETEND_VERSION.to_owned(), version.clone()));
            let _ = writeln!(sandbox.setup_log, "# {PRETEND_VERSION}={version} (the copy has no tags)");
        }
        let without_pip = match options.setup {
            Setup::Bare => " --without-pip",
            Setup::Auto | Setup::Command(_) => "",
        };
        let venv_text = shell_quote(&sandbox.venv.to_string_lossy());
        let mut steps = vec![
            SetupStep { command: git_init_command(), required: true },
            SetupStep { command: format!("{} -m venv{without_pip} {venv_text}", options.python), required: true },
        ];
        steps.extend(options.setup.steps(files, "--no-input"));
        steps.push(SetupStep { command: baseline_commit_command(), required: true });
        let baseline = shell_quote(&sandbox.root.path().join("baseline.git").to_string_lossy());
        steps.push(SetupStep { command: format!("git clone -q --bare . {baseline}"), required: true });
        if !bubblewrap {
            // Without a read-only mount the virtualenv is restored from a repository of its own.
            let git = sandbox.venv_git();
            steps.push(SetupStep {
                command: format!("{git} init -q && {git} add -A -f && {git} {GIT_IDENTITY} commit -q -m venv"),
                required: true,
            });
        }
        for step in steps {
            tracing::info!(command = %step.command, "local sandbox setup");
            let output = sandbox.exec_host(&step.command, STEP_TIMEOUT).await?;
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
        // A containment that cannot start a process would look like failing tests: fail here instead.
        let probe = sandbox.exec(&ExecRequest::new(["true"], HOST_STEP_TIMEOUT)).await?;
        if !probe.success() {
            return Err(SandboxError::Internal {
                action: "starting a contained test process".to_owned(),
                exit_code: probe.exit_code,
                output: format!("{}{}", probe.stdout, probe.stderr),
            });
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

    /// The home folder test processes get (fresh for every command under bubblewrap, recreated by every reset
    /// otherwise).
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn temp(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    /// `git` with the virtualenv's own repository (outside the virtualenv, so no test sees it).
    fn venv_git(&self) -> String {
        format!(
            "git --git-dir={} --work-tree={}",
            shell_quote(&self.root.path().join("venv.git").to_string_lossy()),
            shell_quote(&self.venv.to_string_lossy())
        )
    }

    fn recreate_scratch(&self) -> Result<(), SandboxError> {
        for folder in [self.home(), self.temp()] {
            if folder.exists() {
                make_writable(&folder);
                fs_err::remove_dir_all(&folder)?;
            }
            fs_err::create_dir_all(&folder)?;
        }
        Ok(())
    }

    /// A trusted command of ours (setup, resets) on the host, in the checkout: the virtualenv first on `PATH`, the
    /// host's environment without its secret-looking variables (pip's configuration and proxies stay), no bytecode.
    async fn exec_host(&self, command: &str, timeout: Duration) -> Result<ExecOutput, SandboxError> {
        let mut path = std::ffi::OsString::from(self.venv.join("bin"));
        if let Some(host_path) = std::env::var_os("PATH") {
            path.push(":");
            path.push(host_path);
        }
        let mut process = tokio::process::Command::new("sh");
        process.args(["-c", command]).current_dir(&self.repo).env_clear();
        for (name, value) in std::env::vars_os() {
            if name.to_str().is_some_and(|name| !is_secret_name(name)) {
                process.env(name, value);
            }
        }
        process
            .env("PATH", path)
            .env("VIRTUAL_ENV", &self.venv)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(self.host_variables.iter().map(|(name, value)| (name, value)))
            .env_remove("PYTHONHOME");
        run_capped(process, "sh", timeout, 1 << 20).await
    }

    async fn checked_host(&self, action: &str, command: &str) -> Result<(), SandboxError> {
        let output = self.exec_host(command, HOST_STEP_TIMEOUT).await?;
        if output.success() {
            return Ok(());
        }
        Err(SandboxError::Internal {
            action: action.to_owned(),
            exit_code: output.exit_code,
            output: format!("{}{}", output.stdout, output.stderr),
        })
    }

    /// The process that runs a test command: bubblewrap's arguments (when contained) and the allowlisted
    /// environment, joined to the control groups.
    fn contained_command(&self, request: &ExecRequest, cwd: &Path) -> tokio::process::Command {
        let home = self.home();
        let temp = self.temp();
        let mut path = self.venv.join("bin").to_string_lossy().into_owned();
        if let Ok(host_path) = std::env::var("PATH") {
            path = format!("{path}:{host_path}");
        }
        let mut variables: Vec<(String, String)> = vec![
            ("PATH".to_owned(), path),
            ("HOME".to_owned(), home.to_string_lossy().into_owned()),
            ("TMPDIR".to_owned(), temp.to_string_lossy().into_owned()),
            ("VIRTUAL_ENV".to_owned(), self.venv.to_string_lossy().into_owned()),
            (MARKER_VARIABLE.to_owned(), self.root.path().to_string_lossy().into_owned()),
        ];
        variables.extend(self.environment.variables().iter().cloned());
        variables.extend(without_secrets(&request.env).cloned());

        let mut argv: Vec<String> = Vec::new();
        if let Some(join) = self.control_groups.join_script() {
            argv.extend(["sh".to_owned(), "-c".to_owned(), join, "sh".to_owned()]);
        }
        let mut process_env: Vec<(String, String)> = Vec::new();
        if self.bubblewrap {
            argv.push("bwrap".to_owned());
            argv.extend(self.bubblewrap_arguments(cwd, &variables));
            argv.push("--".to_owned());
            process_env.push(("PATH".to_owned(), std::env::var("PATH").unwrap_or_default()));
        } else {
            process_env = variables;
        }
        argv.extend(request.argv.iter().cloned());
        let (program, args) = argv
            .split_first()
            .map_or(("true".to_owned(), Vec::new()), |(program, args)| (program.clone(), args.to_vec()));
        let mut process = tokio::process::Command::new(program);
        process.args(args).current_dir(cwd).env_clear().envs(process_env);
        process
    }

    fn bubblewrap_arguments(&self, cwd: &Path, variables: &[(String, String)]) -> Vec<String> {
        let mut arguments: Vec<String> = BUBBLEWRAP_BASE.into_iter().map(str::to_owned).collect();
        let mut masked: Vec<PathBuf> = ["/tmp", "/var/tmp", "/run", "/home", "/root"].map(PathBuf::from).to_vec();
        masked.extend(std::env::var_os("HOME").map(PathBuf::from));
        masked.extend(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from));
        masked.extend(self.hidden_paths.iter().cloned());
        masked.push(std::env::temp_dir());
        for path in masked {
            if path.is_dir() {
                arguments.extend(["--tmpfs".to_owned(), path.to_string_lossy().into_owned()]);
            }
        }
        // The interpreter the virtualenv was made from may live under a hidden folder (pyenv in the home).
        if let Some(prefix) = self.interpreter_prefix() {
            let text = prefix.to_string_lossy().into_owned();
            arguments.extend(["--ro-bind".to_owned(), text.clone(), text]);
        }
        let git_dir = Path::new(&self.repo).join(".git");
        let binds =
            [("--bind", Path::new(&self.repo)), ("--ro-bind", git_dir.as_path()), ("--ro-bind", self.venv.as_path())];
        for (kind, path) in binds {
            let text = path.to_string_lossy().into_owned();
            arguments.extend([kind.to_owned(), text.clone(), text]);
        }
        for folder in [self.home(), self.temp()] {
            arguments.extend(["--tmpfs".to_owned(), folder.to_string_lossy().into_owned()]);
        }
        arguments.push("--clearenv".to_owned());
        for (name, value) in variables {
            arguments.extend(["--setenv".to_owned(), name.clone(), value.clone()]);
        }
        arguments.extend(["--chdir".to_owned(), cwd.to_string_lossy().into_owned()]);
        arguments
    }

    /// The installation the virtualenv's interpreter belongs to: the parent of `home` in `pyvenv.cfg`.
    fn interpreter_prefix(&self) -> Option<PathBuf> {
        let config = fs_err::read_to_string(self.venv.join("pyvenv.cfg")).ok()?;
        let home = config.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "home").then(|| PathBuf::from(value.trim()))
        })?;
        let prefix = home.parent()?.to_path_buf();
        (prefix != Path::new("/") && prefix.is_dir()).then_some(prefix)
    }

    /// Without namespaces, processes that left the process group (`setsid`) are found by the marker variable in
    /// their environment and killed.
    fn kill_strays(&self) {
        if self.bubblewrap {
            return;
        }
        let marker = format!("{MARKER_VARIABLE}={}", self.root.path().to_string_lossy());
        let Ok(entries) = fs_err::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(environ) = fs_err::read(entry.path().join("environ")) else {
                continue;
            };
            if environ.split(|&byte| byte == 0).any(|variable| variable == marker.as_bytes()) {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

impl Drop for LocalSandbox {
    fn drop(&mut self) {
        self.kill_strays();
        self.control_groups.remove();
        make_writable(self.root.path());
    }
}

/// Give the owner write access everywhere under `path`, so a test that made folders read-only cannot stop their
/// removal.
fn make_writable(path: &Path) {
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+rwX"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn git_init_command() -> String {
    format!(
        "git init -q && printf '{}' >> .git/info/exclude && git add -A -f && git {GIT_IDENTITY} commit -q \
         --no-verify --allow-empty -m original",
        GENERATED_PATTERNS.replace('\n', "\\n")
    )
}

/// Commit what setup built in place, without bytecode caches.
fn baseline_commit_command() -> String {
    "find . -path ./.git -prune -o \\( -name __pycache__ -o -name .pytest_cache \\) -type d -prune -exec rm -rf {} + \
     && find . -path ./.git -prune -o -name '*.py[co]' -type f -exec rm -f {} + \
     && git add -A -f && git "
        .to_owned()
        + GIT_IDENTITY
        + " commit -q --no-verify --allow-empty -m baseline"
}

/// This process's identity for the folders and groups it owns: pid and start time.
fn owner_tag() -> String {
    let pid = std::process::id();
    format!("{pid}-{}", process_start_time(pid).unwrap_or_default())
}

/// Whether the owner named by a tag (`PID-START-...`) is alive.
fn owner_alive(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let (Some(pid), Some(start)) = (parts.next().and_then(|pid| pid.parse::<u32>().ok()), parts.next()) else {
        return false;
    };
    process_start_time(pid).is_some_and(|actual| actual == start)
}

/// Remove the sandbox folders and control groups of agentless processes that are gone (killed before they could
/// clean up). Returns how many folders were removed.
pub fn reap_dead_sandboxes() -> usize {
    let mut reaped = 0;
    if let Ok(entries) = fs_err::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(tag) = name.strip_prefix(SANDBOX_PREFIX) else {
                continue;
            };
            if owner_alive(tag) {
                continue;
            }
            make_writable(&entry.path());
            if fs_err::remove_dir_all(entry.path()).is_ok() {
                reaped += 1;
            }
        }
    }
    for hierarchy in ControlGroups::hierarchies() {
        let Ok(entries) = fs_err::read_dir(&hierarchy) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(tag) = name.strip_prefix(SANDBOX_PREFIX)
                && !owner_alive(tag)
            {
                ControlGroups::remove_group(&entry.path());
            }
        }
    }
    if reaped > 0 {
        tracing::info!(count = reaped, "removed sandbox folders left behind by dead runs");
    }
    reaped
}

/// Whether bubblewrap runs here (once per process): `Err` holds why not.
fn bubblewrap_probe() -> Result<(), &'static String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let output = std::process::Command::new("bwrap")
                .args(BUBBLEWRAP_BASE)
                .args(["--tmpfs", "/tmp", "true"])
                .stdin(Stdio::null())
                .output();
            match output {
                Ok(output) if output.status.success() => Ok(()),
                Ok(output) => Err(format!("bwrap failed: {}", String::from_utf8_lossy(&output.stderr).trim())),
                Err(error) => Err(format!("bwrap cannot be run ({error}); Debian's package is `bubblewrap`")),
            }
        })
        .as_ref()
        .map(|_| ())
}

/// Control groups (v1 `pids` and `memory` hierarchies, or v2) holding a sandbox's test processes; empty when they
/// cannot be made (not root, or no such controller).
#[derive(Debug, Default)]
struct ControlGroups {
    groups: Vec<PathBuf>,
    processes: Option<u64>,
    memory_bytes: Option<u64>,
}

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

impl ControlGroups {
    fn create(name: &str, limits: &LocalLimits) -> Self {
        let mut made = Self::default();
        let root = Path::new(CGROUP_ROOT);
        if root.join("cgroup.controllers").is_file() {
            let group = root.join(name);
            if fs_err::create_dir(&group).is_ok() {
                if fs_err::write(group.join("pids.max"), limits.processes.to_string()).is_ok() {
                    made.processes = Some(limits.processes);
                }
                if fs_err::write(group.join("memory.max"), limits.memory_bytes.to_string()).is_ok() {
                    let _ = fs_err::write(group.join("memory.swap.max"), "0");
                    made.memory_bytes = Some(limits.memory_bytes);
                }
                made.groups.push(group);
            }
            return made;
        }
        let pids = root.join("pids").join(name);
        if fs_err::create_dir(&pids).is_ok() {
            if fs_err::write(pids.join("pids.max"), limits.processes.to_string()).is_ok() {
                made.processes = Some(limits.processes);
            }
            made.groups.push(pids);
        }
        let memory = root.join("memory").join(name);
        if fs_err::create_dir(&memory).is_ok() {
            if fs_err::write(memory.join("memory.limit_in_bytes"), limits.memory_bytes.to_string()).is_ok() {
                let _ = fs_err::write(memory.join("memory.memsw.limit_in_bytes"), limits.memory_bytes.to_string());
                made.memory_bytes = Some(limits.memory_bytes);
            }
            made.groups.push(memory);
        }
        made
    }

    /// The folders sandbox groups are made in.
    fn hierarchies() -> Vec<PathBuf> {
        let root = Path::new(CGROUP_ROOT);
        if root.join("cgroup.controllers").is_file() {
            vec![root.to_path_buf()]
        } else {
            vec![root.join("pids"), root.join("memory")]
        }
    }

    /// `sh -c` text that moves the shell into the groups and then runs its arguments.
    fn join_script(&self) -> Option<String> {
        if self.groups.is_empty() {
            return None;
        }
        let mut script = String::new();
        for group in &self.groups {
            let procs = shell_quote(&group.join("cgroup.procs").to_string_lossy());
            let _ = write!(script, "echo $$ > {procs} || exit 125; ");
        }
        script.push_str("exec \"$@\"");
        Some(script)
    }

    /// Kill every process left in the groups (a fork bomb's survivors, daemons), until they are empty.
    fn kill_all(&self) {
        for group in &self.groups {
            Self::kill_members(group);
        }
    }

    /// SIGKILL the members of one group until none is left (bounded: 100 rounds).
    fn kill_members(group: &Path) {
        for _ in 0..100 {
            let procs = fs_err::read_to_string(group.join("cgroup.procs")).unwrap_or_default();
            let pids: Vec<i32> = procs.lines().filter_map(|line| line.trim().parse().ok()).collect();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn remove(&mut self) {
        for group in self.groups.drain(..) {
            Self::remove_group(&group);
        }
    }

    /// Kill what is left in the group, then remove it (a group can only be removed empty).
    fn remove_group(group: &Path) {
        Self::kill_members(group);
        for _ in 0..100 {
            if fs_err::remove_dir(group).is_ok() || !group.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::warn!(group = %group.display(), "could not remove a sandbox control group");
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

/// Run `process` in a process group of its own with capped output; the timeout (and cancellation) kills the group.
async fn run_capped(
    mut process: tokio::process::Command,
    program: &str,
    timeout: Duration,
    output_cap: usize,
) -> Result<ExecOutput, SandboxError> {
    let started = Instant::now();
    let mut child = process
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| SandboxError::Spawn { program: program.to_owned(), source })?;
    let group = ProcessGroup(child.id().and_then(|pid| i32::try_from(pid).ok()).map(Pid::from_raw));
    let (Some(mut child_stdout), Some(mut child_stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(SandboxError::Spawn {
            program: program.to_owned(),
            source: std::io::Error::other("the child's pipes are missing"),
        });
    };

    let mut stdout = CappedOutput::new(output_cap);
    let mut stderr = CappedOutput::new(output_cap);
    let (mut stdout_buffer, mut stderr_buffer) = (vec![0; 16 * 1024], vec![0; 16 * 1024]);
    let (mut stdout_open, mut stderr_open) = (true, true);
    let deadline = tokio::time::Instant::from_std(started + timeout);
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
    Ok(CappedOutput::finish_exec(stdout, stderr, exit_code, timed_out, started.elapsed()))
}

#[async_trait]
impl Sandbox for LocalSandbox {
    fn workdir(&self) -> &str {
        &self.repo
    }

    fn isolation(&self) -> Isolation {
        Isolation {
            mechanism: if self.bubblewrap { "bubblewrap" } else { "none" }.to_owned(),
            network_cut: self.bubblewrap,
            host_read_only: self.bubblewrap,
            secrets_hidden: self.bubblewrap,
            processes_contained: self.bubblewrap,
            process_limit: self.control_groups.processes,
            memory_limit: self.control_groups.memory_bytes,
        }
    }

    async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
        let Some(program) = request.argv.first() else {
            return Err(SandboxError::EmptyArgv);
        };
        let _one_at_a_time = self.exec_lock.lock().await;
        let cwd = match &request.cwd {
            Some(cwd) => Path::new(&self.repo).join(cwd),
            None => PathBuf::from(&self.repo),
        };
        let process = self.contained_command(request, &cwd);
        let output = run_capped(process, program, request.timeout, request.output_cap).await;
        self.kill_strays();
        self.control_groups.kill_all();
        output
    }

    async fn write_file(&self, relative_path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let target = Path::new(&self.repo).join(super::checked_relative_path(relative_path)?);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(target, contents)?;
        Ok(())
    }

    async fn reset(&self) -> Result<(), SandboxError> {
        self.kill_strays();
        self.reset_checkout().await?;
        if !self.bubblewrap {
            let git = self.venv_git();
            self.checked_host("restoring the virtualenv", &format!("{git} reset -q --hard && {git} clean -q -ffdx"))
                .await?;
        }
        self.recreate_scratch()
    }

    async fn reset_checkout(&self) -> Result<(), SandboxError> {
        make_writable(Path::new(&self.repo));
        self.checked_host("resetting the checkout", "git reset -q --hard && git clean -q -ffdx").await
    }

    async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError> {
        // Inside the checkout's git folder: visible (read-only) to a contained `git apply`, never part of the tree.
        let patch_path = Path::new(&self.repo).join(".git/agentless-candidate.patch");
        fs_err::write(&patch_path, patch)?;
        super::patch::apply_with_fallbacks(self, &patch_path.to_string_lossy()).await
    }

    async fn recover(&self) -> Result<(), SandboxError> {
        self.kill_strays();
        let repo = Path::new(&self.repo);
        make_writable(repo);
        if repo.exists() {
            fs_err::remove_dir_all(repo)?;
        }
        let baseline = self.root.path().join("baseline.git");
        let output = tokio::process::Command::new("git")
            .args(["clone", "-q"])
            .arg(&baseline)
            .arg(repo)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .await?;
        if !output.status.success() {
            return Err(SandboxError::Unrecoverable {
                cause: format!("a fresh checkout failed: {}", String::from_utf8_lossy(&output.stderr).trim()),
            });
        }
        fs_err::write(repo.join(".git/info/exclude"), GENERATED_PATTERNS)?;
        self.reset().await.map_err(|error| SandboxError::Unrecoverable { cause: error.to_string() })
    }
}
