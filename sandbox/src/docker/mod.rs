//! Docker sandboxes through the engine API (bollard): the run that owns every container it creates (labels,
//! shutdown, reaping of orphans), workers that judge every candidate in a fresh container from the project image
//! (with a spare started ahead, so a reset is a swap), and the exec loop with timeout, cap and bounded drain.

mod base_image;
mod housekeeping;
mod project_image;
mod registry_base;
mod runner;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RestartContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures::{Stream, StreamExt};
use std::pin::Pin;
use tokio::io::AsyncWrite;

pub use base_image::{BaseImageBuild, PythonVersion, base_image_exists, build_base_image, ensure_base_image};
pub use housekeeping::{
    ContainerRecord, ImageKind, ImageLabels, ImageOutcome, ImageRecord, Inventory, LastUsed, PrunePlan, PruneReport,
    PruneRules, SkippedImage, UseSource, inventory, prune, short_id,
};
pub use project_image::{ProjectImage, ProjectImageOptions, host_pip_cert};
pub use registry_base::RegistryBaseBuild;

use super::environment::TestEnvironment;
use super::output::CappedOutput;
use super::process_start_time;
use super::{
    DRAIN_TIMEOUT, ExecOutput, ExecRequest, Isolation, PatchOutcome, Sandbox, SandboxError, TIMEOUT_EXIT_CODE,
};

/// Label on every container of a run: the run id.
pub const LABEL_RUN: &str = "agentless.run";
/// Label on every container: the pid of the process that created it.
pub const LABEL_OWNER_PID: &str = "agentless.owner-pid";
/// Label on every container: that process's start time (clock ticks since boot), so a reused pid is not taken for
/// the owner.
pub const LABEL_OWNER_START: &str = "agentless.owner-start";
/// The run labels a committed image gets, all empty: the engine copies a build container's labels into the image it
/// commits (a commit can set labels but not remove them), and a container someone starts from the image must not
/// look like one of a dead run of ours (the next run would reap it).
pub(crate) fn cleared_run_labels() -> impl Iterator<Item = (String, String)> {
    [LABEL_RUN, LABEL_OWNER_PID, LABEL_OWNER_START].into_iter().map(|label| (label.to_owned(), String::new()))
}

/// Label on base images: the Python version.
pub const LABEL_BASE: &str = "agentless.base";
/// Label on project images: the content hash.
pub const LABEL_PROJECT: &str = "agentless.project";
/// Label on every image built since it existed: what it is ([`ImageKind`]).
pub const LABEL_KIND: &str = "agentless.kind";
/// Label on every image built since it existed: the repository it holds (empty when none or unknown).
pub const LABEL_REPOSITORY: &str = "agentless.repository";
/// Label on every image built since it existed: the version of what it holds (the Python of a base image, the
/// SWE-bench version of an environment; empty when unknown).
pub const LABEL_VERSION: &str = "agentless.version";

/// The checkout inside the images.
pub const REPO_DIR: &str = "/work/repo";
/// The virtualenv inside the images (outside the checkout, so `reset_checkout` spares it; `reset` starts a fresh
/// container, which has it as the image does).
pub const VENV_DIR: &str = "/work/venv";
pub(crate) const AGENT_USER: &str = "agentless";
pub(crate) const AGENT_UID: u32 = 1000;
const AGENT_HOME: &str = "/home/agentless";
const PATCH_PATH: &str = "/tmp/agentless-candidate.patch";
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How often a running exec whose output stream is still open is checked for having ended.
const EXEC_POLL_INTERVAL: Duration = Duration::from_millis(200);

pub(crate) fn docker_error(context: impl Into<String>, source: bollard::errors::Error) -> SandboxError {
    SandboxError::Docker { context: context.into(), source }
}

/// Resource limits of a worker container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLimits {
    /// Memory and memory+swap, in bytes.
    pub memory_bytes: i64,
    /// CPUs in billionths.
    pub nano_cpus: i64,
    /// Most processes at once (fork bombs stop here).
    pub pids: i64,
}

impl Default for WorkerLimits {
    fn default() -> Self {
        Self { memory_bytes: 4 << 30, nano_cpus: 2_000_000_000, pids: 1024 }
    }
}

/// A connection to the engine and the run that owns the containers created through it. Call
/// [`DockerRuntime::shutdown`] at the end (and on Ctrl-C); dropping it without does the same, blocking.
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    run_id: String,
    starter: ContainerStarter,
    /// Where root filesystems are cached when a missing base image is built on demand; `None` refuses instead.
    base_image_cache: Option<PathBuf>,
}

/// Starts the containers of one run, with its labels; shared by the runtime and its workers (which start their
/// fresh containers in the background). Once the run has shut down it starts nothing more.
#[derive(Debug, Clone)]
struct ContainerStarter {
    docker: Docker,
    run_id: Arc<str>,
    labels: Arc<HashMap<String, String>>,
    next_container: Arc<AtomicUsize>,
    /// `true` once the run has shut down. A start holds it for reading until its container runs, so the shutdown
    /// (which takes it for writing before listing the run's containers) finds every container in a state it can
    /// remove.
    shut_down: Arc<tokio::sync::RwLock<bool>>,
    /// Where the last-use stamps of images are touched when a container is created from them; `None` records none.
    image_use: Option<Arc<PathBuf>>,
    /// How long creating or starting a container may wait for the engine ([`ENGINE_CALL_DEADLINE`]).
    call_deadline: Duration,
}

impl ContainerStarter {
    /// Create and start a container from `image` with the run's labels; `limits` = `None` leaves the network on and
    /// no limits (image builds).
    async fn start(&self, image: &str, limits: Option<&WorkerLimits>) -> Result<String, SandboxError> {
        let shut_down = self.shut_down.read().await;
        if *shut_down {
            return Err(SandboxError::RunShutDown { run_id: self.run_id.to_string() });
        }
        let (id, name) = self.create(image, limits).await?;
        let started = answered(
            self.call_deadline,
            || format!("starting container {name}"),
            self.docker.start_container(&id, None),
        )
        .await
        .and_then(|started| started.map_err(|source| docker_error(format!("starting container {name}"), source)));
        if let Err(error) = started {
            remove_container(&self.docker, &id).await;
            return Err(error);
        }
        drop(shut_down);
        Ok(id)
    }

    /// Create a container from `image` with the run's labels and no limits, without starting it (to read files
    /// from the image; nothing runs in it).
    async fn create_stopped(&self, image: &str) -> Result<String, SandboxError> {
        let shut_down = self.shut_down.read().await;
        if *shut_down {
            return Err(SandboxError::RunShutDown { run_id: self.run_id.to_string() });
        }
        Ok(self.create(image, None).await?.0)
    }

    /// Create a container from `image` (see [`ContainerStarter::start`] for `limits`); returns its id and name. The
    /// caller holds `shut_down` for reading.
    async fn create(&self, image: &str, limits: Option<&WorkerLimits>) -> Result<(String, String), SandboxError> {
        let serial = self.next_container.fetch_add(1, Ordering::Relaxed);
        let name = format!("agentless-{}-{serial}", self.run_id);
        let host_config = match limits {
            Some(limits) => HostConfig {
                network_mode: Some("none".to_owned()),
                memory: Some(limits.memory_bytes),
                memory_swap: Some(limits.memory_bytes),
                nano_cpus: Some(limits.nano_cpus),
                pids_limit: Some(limits.pids),
                init: Some(true),
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges".to_owned()]),
                ..HostConfig::default()
            },
            None => HostConfig { init: Some(true), ..HostConfig::default() },
        };
        let body = ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
            // Not for builds: the engine would create the folder as root before the files arrive.
            working_dir: limits.map(|_| REPO_DIR.to_owned()),
            labels: Some(self.labels.as_ref().clone()),
            // `network_mode: none` alone: it cuts the network and still gives the container its /etc/hosts
            // (`network_disabled` would leave the root filesystem's empty one, and `localhost` would not resolve).
            host_config: Some(host_config),
            ..ContainerCreateBody::default()
        };
        let create =
            self.docker.create_container(Some(CreateContainerOptionsBuilder::default().name(&name).build()), body);
        let created = match answered(self.call_deadline, || format!("creating a container from {image}"), create).await
        {
            Ok(created) => created,
            Err(stalled) => {
                // The engine may still create it after we stopped waiting: it is removed by name in the background
                // (waiting here would hold up a shutdown as long again). Made later still, it has the run's labels,
                // and the shutdown or the next run's reaping removes it.
                let (docker, name) = (self.docker.clone(), name.clone());
                tokio::spawn(async move { remove_container(&docker, &name).await });
                return Err(stalled);
            }
        };
        let created = created.map_err(|source| match source {
            bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => SandboxError::ImageMissing {
                image: image.to_owned(),
                hint: "build it before starting workers".to_owned(),
            },
            source => docker_error(format!("creating a container from {image}"), source),
        })?;
        if let Some(folder) = &self.image_use {
            housekeeping::record_image_use(&self.docker, folder, image).await;
        }
        Ok((created.id, name))
    }

    /// A worker container from `image` with `limits`, its runner ready when `with_runner`.
    async fn start_worker(
        &self,
        image: &str,
        limits: &WorkerLimits,
        with_runner: bool,
    ) -> Result<WorkerContainer, SandboxError> {
        let container = self.start(image, Some(limits)).await?;
        let runner = if with_runner {
            match runner::Runner::start(&self.docker, &container).await {
                Ok(runner) => Some(runner),
                Err(error) => {
                    remove_container(&self.docker, &container).await;
                    return Err(error);
                }
            }
        } else {
            None
        };
        Ok(WorkerContainer { container, runner, used: false })
    }
}

/// How long the engine may take to answer one request (bollard's client timeout covers the answer's headers; image
/// imports and pulls bound their progress streams with it too). bollard's default, 2 minutes, is too short for
/// committing a 700 MB project image or removing one while builds and tests load the machine: a commit that took
/// longer lost its SWE-bench instance. Runaway test processes are bounded by their own timeouts, not this one.
pub const ENGINE_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// How long one container request (create, start, inspect, exec, copy, restart, remove, list) may wait for the
/// engine's answer before it counts as stalled ([`SandboxError::EngineStalled`]): a stalled engine then costs the
/// candidate or step at hand, not the whole run. Commits and image builds keep [`ENGINE_REQUEST_TIMEOUT`]; how long a
/// command runs is bounded by its own timeout.
pub const ENGINE_CALL_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// How long connecting to the engine (version negotiation and a ping) may take.
const ENGINE_CONNECT_DEADLINE: Duration = Duration::from_secs(60);

/// What `request` gives when the engine answers within `deadline`; otherwise [`SandboxError::EngineStalled`] naming
/// `operation` (the request is dropped, which closes its connection).
async fn answered<T>(
    deadline: Duration,
    operation: impl FnOnce() -> String,
    request: impl std::future::Future<Output = T>,
) -> Result<T, SandboxError> {
    tokio::time::timeout(deadline, request)
        .await
        .map_err(|_| SandboxError::EngineStalled { operation: operation(), waited: deadline })
}

/// A client of the local engine (`DOCKER_HOST` or `/var/run/docker.sock`) with [`ENGINE_REQUEST_TIMEOUT`].
pub fn local_engine() -> Result<Docker, bollard::errors::Error> {
    Ok(Docker::connect_with_local_defaults()?.with_timeout(ENGINE_REQUEST_TIMEOUT))
}

impl DockerRuntime {
    /// Connect to the local engine (`DOCKER_HOST` or `/var/run/docker.sock`), negotiate the API version, and reap the
    /// containers of dead runs.
    pub async fn connect(run_id: impl Into<String>) -> Result<Self, SandboxError> {
        let docker = local_engine().map_err(SandboxError::EngineUnreachable)?;
        let negotiated = answered(ENGINE_CONNECT_DEADLINE, || "connecting to it".to_owned(), async {
            let docker = docker.negotiate_version().await?;
            docker.ping().await.map(|_| docker)
        });
        let docker = negotiated.await?.map_err(SandboxError::EngineUnreachable)?;
        let run_id = run_id.into();
        let owner_pid = std::process::id();
        let labels = HashMap::from([
            (LABEL_RUN.to_owned(), run_id.clone()),
            (LABEL_OWNER_PID.to_owned(), owner_pid.to_string()),
            (LABEL_OWNER_START.to_owned(), process_start_time(owner_pid).unwrap_or_default()),
        ]);
        let starter = ContainerStarter {
            docker: docker.clone(),
            run_id: Arc::from(run_id.as_str()),
            labels: Arc::new(labels),
            next_container: Arc::new(AtomicUsize::new(0)),
            shut_down: Arc::new(tokio::sync::RwLock::new(false)),
            image_use: None,
            call_deadline: ENGINE_CALL_DEADLINE,
        };
        let runtime = Self { docker, run_id, starter, base_image_cache: None };
        let reaped = runtime.reap_orphans().await?;
        if !reaped.is_empty() {
            tracing::info!(count = reaped.len(), "removed containers left behind by dead runs");
        }
        Ok(runtime)
    }

    /// Build a missing base image on demand (debootstrap, root), caching its root filesystem under `cache`.
    #[must_use]
    pub fn building_missing_base_images(mut self, cache: PathBuf) -> Self {
        self.base_image_cache = Some(cache);
        self
    }

    /// Touch the last-use stamp of an image in `folder` whenever a container is created from it (what `sandbox list`
    /// shows and `sandbox prune --older-than` goes by; see [`inventory`]).
    #[must_use]
    pub fn recording_image_use(mut self, folder: PathBuf) -> Self {
        self.starter.image_use = Some(Arc::new(folder));
        self
    }

    /// Whether a missing base image is built on demand.
    pub fn builds_missing_base_images(&self) -> bool {
        self.base_image_cache.is_some()
    }

    /// The base image of `python`: there already, built now (with a line on stderr saying so and how long it
    /// took), or [`SandboxError::ImageMissing`] naming the command that builds it.
    pub async fn ensure_base_image(&self, python: PythonVersion) -> Result<(), SandboxError> {
        let Some(cache) = &self.base_image_cache else {
            if base_image_exists(&self.docker, python).await? {
                return Ok(());
            }
            return Err(SandboxError::ImageMissing {
                image: python.image(),
                hint: format!("agentless sandbox build-image --python {}", python.version()),
            });
        };
        if let Some(build) = ensure_base_image(&self.docker, python, cache).await? {
            tracing::warn!(
                "built {} in {:.0} s{}",
                build.image,
                (build.debootstrap + build.import).as_secs_f64(),
                if build.rootfs_cached { " (cached root filesystem)" } else { "" }
            );
        }
        Ok(())
    }

    /// A run id unique on this machine: the pid and the time.
    pub fn new_run_id() -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Create and start a container from `image` with this run's labels; `limits` = `None` leaves the network on
    /// and no limits (image builds).
    async fn start_container(&self, image: &str, limits: Option<&WorkerLimits>) -> Result<String, SandboxError> {
        self.starter.start(image, limits).await
    }

    /// Create a container from `image` without starting it, with this run's labels (see
    /// [`ContainerStarter::create_stopped`]).
    async fn create_stopped_container(&self, image: &str) -> Result<String, SandboxError> {
        self.starter.create_stopped(image).await
    }

    /// One worker from a project image: no network, the given limits, tests run as the `agentless` user with the
    /// allowlisted environment plus `environment`'s variables. Each [`Sandbox::reset`] after the container was used
    /// moves the worker to a fresh container from the same image.
    pub async fn start_worker(
        &self,
        image: &ProjectImage,
        limits: &WorkerLimits,
        environment: &TestEnvironment,
    ) -> Result<DockerSandbox, SandboxError> {
        let current = self.starter.start_worker(&image.image, limits, false).await?;
        Ok(DockerSandbox {
            recipe: Arc::new(WorkerRecipe {
                starter: self.starter.clone(),
                image: image.image.clone(),
                limits: *limits,
                environment: environment.clone(),
            }),
            current_id: std::sync::Mutex::new(current.container.clone()),
            current: tokio::sync::Mutex::new(current),
            spare: std::sync::Mutex::new(None),
        })
    }

    /// `count` workers, started concurrently.
    pub async fn start_workers(
        &self,
        image: &ProjectImage,
        count: usize,
        limits: &WorkerLimits,
        environment: &TestEnvironment,
    ) -> Result<Vec<DockerSandbox>, SandboxError> {
        futures::future::join_all((0..count).map(|_| self.start_worker(image, limits, environment)))
            .await
            .into_iter()
            .collect()
    }

    /// Remove the containers of runs whose owner process is gone; returns their ids.
    pub async fn reap_orphans(&self) -> Result<Vec<String>, SandboxError> {
        let mut reaped = Vec::new();
        for (id, name, labels) in list_labelled(&self.docker, LABEL_RUN).await? {
            let (_, alive) = owner_of(&labels);
            if run_of(&name, &labels).is_some() && !alive {
                remove_container(&self.docker, &id).await;
                reaped.push(id);
            }
        }
        Ok(reaped)
    }

    /// Remove every container of this run (workers' spares included); returns how many there were. No container
    /// is started afterwards.
    pub async fn shutdown(&self) -> Result<usize, SandboxError> {
        *self.starter.shut_down.write().await = true;
        remove_run(&self.docker, &self.run_id).await
    }
}

impl Drop for DockerRuntime {
    fn drop(&mut self) {
        // A start in flight holds the flag; the cleanup below goes ahead anyway, and what it misses has this
        // process's labels, so the next run reaps it.
        if let Ok(mut shut_down) = self.starter.shut_down.try_write() {
            if *shut_down {
                return;
            }
            *shut_down = true;
        }
        // A fresh connection on a thread of its own: the caller's runtime may be shutting down or be this thread.
        let run_id = self.run_id.clone();
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                if let Ok(docker) = local_engine()
                    && let Ok(Ok(docker)) =
                        tokio::time::timeout(ENGINE_CONNECT_DEADLINE, docker.negotiate_version()).await
                    && let Err(error) = remove_run(&docker, &run_id).await
                {
                    tracing::warn!(%error, run_id, "could not remove the run's containers");
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// The owner pid of a container with these labels, and whether that process still runs (the same pid with the
/// same start time, so a reused pid is not taken for it).
fn owner_of(labels: &HashMap<String, String>) -> (Option<u32>, bool) {
    let pid = labels.get(LABEL_OWNER_PID).and_then(|pid| pid.parse::<u32>().ok());
    let start = labels.get(LABEL_OWNER_START).map(String::as_str).unwrap_or_default();
    let alive =
        pid.is_some_and(|pid| process_start_time(pid).is_some_and(|actual| start.is_empty() || actual == start));
    (pid, alive)
}

/// How many times [`remove_run`] lists and removes the run's containers while some are left (one being removed in
/// the background answers "removal already in progress" and is still listed for a moment).
const REMOVAL_ROUNDS: usize = 20;

/// Remove every container of `run_id`; returns how many there were at first.
async fn remove_run(docker: &Docker, run_id: &str) -> Result<usize, SandboxError> {
    let filter = format!("{LABEL_RUN}={run_id}");
    let mut containers = list_labelled(docker, &filter).await?;
    let count = containers.len();
    for _ in 0..REMOVAL_ROUNDS {
        if containers.is_empty() {
            break;
        }
        let removed = futures::future::join_all(containers.iter().map(|(id, _, _)| remove_container(docker, id))).await;
        if removed.contains(&false) {
            // A stalled engine: another round would wait as long again. What is left has the run's labels.
            break;
        }
        containers = list_labelled(docker, &filter).await?;
        if !containers.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if !containers.is_empty() {
        tracing::warn!(count = containers.len(), run_id, "some containers of the run could not be removed");
    }
    Ok(count)
}

/// The run a container belongs to: its run label, when the container also has the name the run gave it
/// (`agentless-<run>-<n>`). Run labels alone are not enough: images built before their commit cleared them (see
/// [`cleared_run_labels`]) pass a dead run's labels to every container started from them, ours or not.
pub(crate) fn run_of<'labels>(name: &str, labels: &'labels HashMap<String, String>) -> Option<&'labels str> {
    let run = labels.get(LABEL_RUN).filter(|run| !run.is_empty())?;
    let rest = name.trim_start_matches('/').strip_prefix("agentless-")?.strip_prefix(run.as_str())?;
    (rest.is_empty() || rest.starts_with('-')).then_some(run.as_str())
}

/// Containers (running or not) matching a `label` filter: id, name and labels.
async fn list_labelled(
    docker: &Docker,
    filter: &str,
) -> Result<Vec<(String, String, HashMap<String, String>)>, SandboxError> {
    let filters = HashMap::from([("label", vec![filter])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let containers =
        answered(ENGINE_CALL_DEADLINE, || "listing containers".to_owned(), docker.list_containers(Some(options)))
            .await?
            .map_err(|source| docker_error("listing containers", source))?;
    Ok(containers
        .into_iter()
        .filter_map(|container| {
            let name = container.names.unwrap_or_default().into_iter().next().unwrap_or_default();
            Some((container.id?, name, container.labels.unwrap_or_default()))
        })
        .collect())
}

/// Force-remove a container (by id or name); a failure (it may be gone already) is only logged. Returns `false` when
/// the engine gave no answer within [`ENGINE_CALL_DEADLINE`].
async fn remove_container(docker: &Docker, id: &str) -> bool {
    let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
    let removal = answered(
        ENGINE_CALL_DEADLINE,
        || format!("removing container {id}"),
        docker.remove_container(id, Some(options)),
    );
    match removal.await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::debug!(%error, id, "removing a container");
            true
        }
        // Left behind with this process's labels: the next run reaps it.
        Err(stalled) => {
            tracing::warn!(%stalled, id, "a container was not removed");
            false
        }
    }
}

/// A worker: the checkout at [`REPO_DIR`] and the virtualenv at [`VENV_DIR`] in a container from the project image.
/// Commands go through the in-container runner, one at a time.
///
/// Every candidate gets a pristine container: [`Sandbox::reset`] after the container was used discards it (it is
/// removed in the background) and switches to a spare started from the same image ahead of time (its runner ready),
/// so nothing a test wrote or left running reaches the next candidate. The first reset starts the spare, every swap
/// starts the next one; a worker that is never reset (one evaluation) never starts one.
#[derive(Debug)]
pub struct DockerSandbox {
    recipe: Arc<WorkerRecipe>,
    /// The id of `current`'s container, readable while a command runs.
    current_id: std::sync::Mutex<String>,
    current: tokio::sync::Mutex<WorkerContainer>,
    /// The next container, starting or ready.
    spare: std::sync::Mutex<Option<tokio::task::JoinHandle<Result<WorkerContainer, SandboxError>>>>,
}

/// What every container of a worker is started from and how commands run in it.
#[derive(Debug)]
struct WorkerRecipe {
    starter: ContainerStarter,
    image: String,
    limits: WorkerLimits,
    environment: TestEnvironment,
}

impl WorkerRecipe {
    async fn start(&self) -> Result<WorkerContainer, SandboxError> {
        self.starter.start_worker(&self.image, &self.limits, true).await
    }
}

/// One container of a worker and its runner.
#[derive(Debug)]
struct WorkerContainer {
    container: String,
    runner: Option<runner::Runner>,
    /// A command ran or a file was written since it started: it is no longer pristine.
    used: bool,
}

impl DockerSandbox {
    /// The container commands run in now; it changes at every [`Sandbox::reset`] after use and at
    /// [`Sandbox::recover`].
    pub fn container_id(&self) -> String {
        self.current_id.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Remove the container and the spare now (the run's shutdown would do it later).
    pub async fn remove(self) {
        let spare = self.take_spare();
        let current = self.current.into_inner();
        remove_container(&self.recipe.starter.docker, &current.container).await;
        if let Some(spare) = spare
            && let Ok(Ok(spare)) = spare.await
        {
            remove_container(&self.recipe.starter.docker, &spare.container).await;
        }
    }

    fn take_spare(&self) -> Option<tokio::task::JoinHandle<Result<WorkerContainer, SandboxError>>> {
        self.spare.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// Start the spare in the background, unless there is one.
    fn prepare_spare(&self) {
        let mut spare = self.spare.lock().unwrap_or_else(PoisonError::into_inner);
        if spare.is_none() {
            let recipe = Arc::clone(&self.recipe);
            *spare = Some(tokio::spawn(async move { recipe.start().await }));
        }
    }

    /// The spare when it started, else a container started now.
    async fn fresh_container(&self) -> Result<WorkerContainer, SandboxError> {
        if let Some(spare) = self.take_spare() {
            match spare.await {
                Ok(Ok(fresh)) => return Ok(fresh),
                Ok(Err(error)) => tracing::warn!(%error, "the spare container did not start; starting another"),
                Err(error) => tracing::warn!(%error, "the spare container's start was lost; starting another"),
            }
        }
        self.recipe.start().await
    }

    /// Make `fresh` the current container; the old one is removed in the background (and by the run's shutdown
    /// should that fail).
    fn swap_in(&self, current: &mut WorkerContainer, fresh: WorkerContainer) {
        let old = std::mem::replace(current, fresh);
        current.container.clone_into(&mut self.current_id.lock().unwrap_or_else(PoisonError::into_inner));
        drop(old.runner);
        let docker = self.recipe.starter.docker.clone();
        tokio::spawn(async move { remove_container(&docker, &old.container).await });
    }

    /// The current container, marked used, with its runner started when it has none.
    async fn ready_runner(&self) -> Result<tokio::sync::MutexGuard<'_, WorkerContainer>, SandboxError> {
        let mut current = self.current.lock().await;
        current.used = true;
        if current.runner.is_none() {
            current.runner = Some(runner::Runner::start(&self.recipe.starter.docker, &current.container).await?);
        }
        Ok(current)
    }

    /// After a runner call: a failed runner is dropped (the next call starts another), and a lost one is reported
    /// as the typed error of a removed or stopped container when that is why.
    async fn settle<T>(
        &self,
        current: &mut WorkerContainer,
        result: Result<T, runner::RunnerFailure>,
    ) -> Result<T, SandboxError> {
        let failure = match result {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        current.runner = None;
        match failure {
            runner::RunnerFailure::Sandbox(error) => Err(error),
            runner::RunnerFailure::Lost(reason) => {
                check_running(&self.recipe.starter.docker, &current.container).await?;
                Err(SandboxError::Internal { action: "running a command".to_owned(), exit_code: -1, output: reason })
            }
        }
    }

    async fn write_through_runner(&self, path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let mut current = self.ready_runner().await?;
        let current = &mut *current;
        let result = match current.runner.as_mut() {
            Some(runner) => runner.write(path, contents).await,
            None => Err(runner::RunnerFailure::Lost("no runner".to_owned())),
        };
        self.settle(current, result).await
    }
}

async fn check_running(docker: &Docker, container: &str) -> Result<(), SandboxError> {
    let inspected = answered(
        ENGINE_CALL_DEADLINE,
        || format!("inspecting container {container}"),
        docker.inspect_container(container, None),
    )
    .await?
    .map_err(|source| classify(container, "inspecting the container".to_owned(), source))?;
    if inspected.state.and_then(|state| state.running) == Some(true) {
        return Ok(());
    }
    Err(SandboxError::ContainerNotRunning { container: container.to_owned() })
}

#[async_trait]
impl Sandbox for DockerSandbox {
    fn workdir(&self) -> &str {
        REPO_DIR
    }

    async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, SandboxError> {
        if request.argv.is_empty() {
            return Err(SandboxError::EmptyArgv);
        }
        let cwd = working_dir(request);
        let env = exec_env(request, self.recipe.environment.variables());
        let mut current = self.ready_runner().await?;
        let current = &mut *current;
        let result = match current.runner.as_mut() {
            Some(runner) => runner.exec(&self.recipe.starter.docker, &current.container, request, &cwd, &env).await,
            None => Err(runner::RunnerFailure::Lost("no runner".to_owned())),
        };
        self.settle(current, result).await
    }

    async fn write_file(&self, relative_path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let path = format!("{REPO_DIR}/{}", super::checked_relative_path(relative_path)?);
        self.write_through_runner(&path, contents).await
    }

    fn isolation(&self) -> Isolation {
        Isolation {
            mechanism: "docker".to_owned(),
            network_cut: true,
            host_read_only: true,
            secrets_hidden: true,
            processes_contained: true,
            process_limit: u64::try_from(self.recipe.limits.pids).ok(),
            memory_limit: u64::try_from(self.recipe.limits.memory_bytes).ok(),
        }
    }

    /// A used container is swapped for the spare (or a container started now when the spare failed); an unused one
    /// is kept. Either way the next spare is started in the background.
    async fn reset(&self) -> Result<(), SandboxError> {
        let mut current = self.current.lock().await;
        if current.used {
            let fresh = self.fresh_container().await?;
            self.swap_in(&mut current, fresh);
        }
        self.prepare_spare();
        Ok(())
    }

    /// The current container and the spare are thrown away and a new container started; an error only when none
    /// can be.
    async fn recover(&self) -> Result<(), SandboxError> {
        let mut current = self.current.lock().await;
        if let Some(spare) = self.take_spare() {
            let docker = self.recipe.starter.docker.clone();
            tokio::spawn(async move {
                if let Ok(Ok(spare)) = spare.await {
                    remove_container(&docker, &spare.container).await;
                }
            });
        }
        let fresh = self.recipe.start().await.map_err(|error| {
            let mut cause = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                cause = format!("{cause}: {inner}");
                source = inner.source();
            }
            SandboxError::Unrecoverable { cause }
        })?;
        self.swap_in(&mut current, fresh);
        self.prepare_spare();
        Ok(())
    }

    async fn apply_patch(&self, patch: &str) -> Result<PatchOutcome, SandboxError> {
        self.write_through_runner(PATCH_PATH, patch.as_bytes()).await?;
        super::patch::apply_with_fallbacks(self, PATCH_PATH).await
    }
}

fn working_dir(request: &ExecRequest) -> String {
    match &request.cwd {
        Some(cwd) if cwd.starts_with('/') => cwd.clone(),
        Some(cwd) => format!("{REPO_DIR}/{cwd}"),
        None => REPO_DIR.to_owned(),
    }
}

/// Extract a tar archive into `folder` of the container, keeping the archive's owners (the engine does so for
/// containers without a configured user; `copyUIDGID` would instead give everything to that user).
async fn upload_archive(docker: &Docker, container: &str, folder: &str, archive: Vec<u8>) -> Result<(), SandboxError> {
    let options = UploadToContainerOptionsBuilder::default().path(folder).build();
    let upload = docker.upload_to_container(container, Some(options), bollard::body_full(archive.into()));
    answered(ENGINE_CALL_DEADLINE, || format!("uploading an archive to {folder} in container {container}"), upload)
        .await?
        .map_err(|source| classify(container, format!("uploading to {folder}"), source))
}

/// Map an engine error about `container` to the typed errors for a missing or stopped container.
fn classify(container: &str, context: String, source: bollard::errors::Error) -> SandboxError {
    match source {
        bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => {
            SandboxError::ContainerGone { container: container.to_owned() }
        }
        bollard::errors::Error::DockerResponseServerError { status_code: 409, .. } => {
            SandboxError::ContainerNotRunning { container: container.to_owned() }
        }
        source => docker_error(context, source),
    }
}

/// The environment of every exec, built from nothing: the virtualenv first on `PATH`, `VIRTUAL_ENV`, `HOME`,
/// `LANG`, then `passed` (the user's allowlisted variables, see [`TestEnvironment`]), then the request's variables
/// without the secret-looking ones. A later variable overrides an earlier one of the same name.
fn exec_env(request: &ExecRequest, passed: &[(String, String)]) -> Vec<String> {
    let mut env = vec![
        format!("PATH={VENV_DIR}/bin:{SYSTEM_PATH}"),
        format!("VIRTUAL_ENV={VENV_DIR}"),
        format!("HOME={AGENT_HOME}"),
        "LANG=C.UTF-8".to_owned(),
    ];
    env.extend(passed.iter().map(|(name, value)| format!("{name}={value}")));
    env.extend(super::environment::without_secrets(&request.env).map(|(name, value)| format!("{name}={value}")));
    env
}

/// Run `request` as `user` (the `agentless` user but for root's package installs) in `container` with a `docker
/// exec` of its own (image builds): output capped, the timeout kills every process of the `agentless` user (a root
/// step that outlives it fails the build, whose container is then removed), output is drained at most
/// [`DRAIN_TIMEOUT`] after the process ended.
async fn container_exec(
    docker: &Docker,
    container: &str,
    request: &ExecRequest,
    user: &str,
) -> Result<ExecOutput, SandboxError> {
    if request.argv.is_empty() {
        return Err(SandboxError::EmptyArgv);
    }
    let started = Instant::now();
    let options = CreateExecOptions {
        cmd: Some(request.argv.clone()),
        env: Some(exec_env(request, &[])),
        user: Some(user.to_owned()),
        working_dir: Some(working_dir(request)),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..CreateExecOptions::default()
    };
    let AttachedExec { id: exec_id, output: mut stream, .. } =
        AttachedExec::start(docker, container, options, "an exec").await?;

    let mut stdout = CappedOutput::new(request.output_cap);
    let mut stderr = CappedOutput::new(request.output_cap);
    let deadline = tokio::time::Instant::from_std(started + request.timeout);
    let mut poll = tokio::time::interval_at(tokio::time::Instant::now() + EXEC_POLL_INTERVAL, EXEC_POLL_INTERVAL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut timed_out = false;
    let mut drain_until: Option<tokio::time::Instant> = None;
    let mut stream_open = true;
    while stream_open {
        let drain_deadline = drain_until.unwrap_or(deadline + Duration::from_secs(86_400));
        tokio::select! {
            item = stream.next() => match item {
                Some(Ok(LogOutput::StdOut { message } | LogOutput::Console { message })) => stdout.push(&message),
                Some(Ok(LogOutput::StdErr { message })) => stderr.push(&message),
                Some(Ok(LogOutput::StdIn { .. })) => {}
                Some(Err(error)) => {
                    tracing::debug!(%error, "exec output stream broke");
                    stream_open = false;
                }
                None => stream_open = false,
            },
            () = tokio::time::sleep_until(deadline), if !timed_out => {
                timed_out = true;
                kill_user_processes(docker, container).await?;
                drain_until = Some(tokio::time::Instant::now() + DRAIN_TIMEOUT);
            },
            _ = poll.tick(), if drain_until.is_none() => {
                let inspected = inspect_exec(docker, container, &exec_id).await?;
                if inspected.running == Some(false) {
                    drain_until = Some(tokio::time::Instant::now() + DRAIN_TIMEOUT);
                }
            },
            () = tokio::time::sleep_until(drain_deadline), if drain_until.is_some() => {
                // Something still holds the pipes (a daemonized grandchild, or an unkillable process).
                kill_user_processes(docker, container).await?;
                break;
            },
        }
    }
    drop(stream);

    let exit_code = if timed_out {
        TIMEOUT_EXIT_CODE
    } else {
        let mut exit_code = None;
        for _ in 0..100 {
            let inspected = inspect_exec(docker, container, &exec_id).await?;
            if inspected.running != Some(true) {
                exit_code = inspected.exit_code;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        exit_code.and_then(|code| i32::try_from(code).ok()).unwrap_or(-1)
    };
    Ok(CappedOutput::finish_exec(stdout, stderr, exit_code, timed_out, started.elapsed()))
}

/// SIGKILL every process of the sandbox user (tests never run as root, and the container's init is root); when
/// that cannot be done (no process can be started under a fork bomb, or they keep coming back) restart the
/// container, which ends everything in it and keeps its filesystem.
async fn kill_user_processes(docker: &Docker, container: &str) -> Result<(), SandboxError> {
    let request = ExecRequest {
        output_cap: 4096,
        // The runner's own kill (`runner.py --kill`): fails when some processes are left after a few seconds (a fork
        // bomb outrunning it), and the container is restarted instead.
        ..ExecRequest::new(["/usr/bin/python3", "-c", runner::RUNNER_SCRIPT, "--kill"], Duration::from_secs(10))
    };
    let killed = container_exec_plain(docker, container, &request).await;
    match killed {
        Ok(true) => return Ok(()),
        Ok(false) => tracing::debug!(container, "processes survived the kill; restarting the container"),
        Err(error @ (SandboxError::ContainerGone { .. } | SandboxError::ContainerNotRunning { .. })) => {
            return Err(error);
        }
        Err(error) => tracing::debug!(%error, container, "could not kill the processes; restarting the container"),
    }
    let options = RestartContainerOptionsBuilder::default().t(0).build();
    let restart = docker.restart_container(container, Some(options));
    answered(ENGINE_CALL_DEADLINE, || format!("restarting container {container}"), restart)
        .await?
        .map_err(|source| classify(container, "restarting the container".to_owned(), source))
}

/// Run a short maintenance command (no kill on timeout, it must not recurse); true when it exited 0.
async fn container_exec_plain(docker: &Docker, container: &str, request: &ExecRequest) -> Result<bool, SandboxError> {
    let options = CreateExecOptions {
        cmd: Some(request.argv.clone()),
        user: Some(AGENT_USER.to_owned()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..CreateExecOptions::default()
    };
    let AttachedExec { id: exec_id, mut output, .. } =
        AttachedExec::start(docker, container, options, "an exec").await?;
    let drained = tokio::time::timeout(request.timeout, async { while output.next().await.is_some() {} }).await;
    if drained.is_err() {
        return Ok(false);
    }
    let inspected = inspect_exec(docker, container, &exec_id).await?;
    Ok(inspected.running == Some(false) && inspected.exit_code == Some(0))
}

/// The state of the exec `exec_id` in `container`.
async fn inspect_exec(
    docker: &Docker,
    container: &str,
    exec_id: &str,
) -> Result<bollard::models::ExecInspectResponse, SandboxError> {
    answered(
        ENGINE_CALL_DEADLINE,
        || format!("inspecting an exec in container {container}"),
        docker.inspect_exec(exec_id),
    )
    .await?
    .map_err(|source| classify(container, "inspecting an exec".to_owned(), source))
}

/// The output of an attached exec.
type OutputStream = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

/// A `docker exec` created and started attached: its id (to inspect it), its output and its stdin.
struct AttachedExec {
    id: String,
    output: OutputStream,
    input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl AttachedExec {
    /// Create and start an exec in `container`; `what` names it in errors (`an exec`, `the runner`).
    async fn start(
        docker: &Docker,
        container: &str,
        options: CreateExecOptions<String>,
        what: &str,
    ) -> Result<Self, SandboxError> {
        let exec = answered(
            ENGINE_CALL_DEADLINE,
            || format!("creating {what} in container {container}"),
            docker.create_exec(container, options),
        )
        .await?
        .map_err(|source| classify(container, format!("creating {what}"), source))?;
        let started = answered(
            ENGINE_CALL_DEADLINE,
            || format!("starting {what} in container {container}"),
            docker.start_exec(&exec.id, None),
        )
        .await?
        .map_err(|source| classify(container, format!("starting {what}"), source))?;
        match started {
            StartExecResults::Attached { output, input } => Ok(Self { id: exec.id, output, input }),
            StartExecResults::Detached => Err(SandboxError::Internal {
                action: format!("starting {what} attached"),
                exit_code: -1,
                output: "the engine detached it".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine on loopback that takes connections and never answers, as a stalled one does.
    async fn silent_engine() -> (Docker, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepting = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let docker = Docker::connect_with_http(&format!("http://{address}"), 3600, bollard::API_DEFAULT_VERSION);
        (docker.unwrap(), accepting)
    }

    #[test]
    fn a_container_belongs_to_a_run_by_its_label_and_the_name_the_run_gave_it() {
        let labels = HashMap::from([(LABEL_RUN.to_owned(), "42-abc".to_owned())]);
        assert_eq!(run_of("/agentless-42-abc-3", &labels), Some("42-abc"));
        assert_eq!(run_of("agentless-42-abc", &labels), Some("42-abc"));
        assert_eq!(run_of("/agentless-42-abcd-3", &labels), None);
        assert_eq!(run_of("/eager_turing", &labels), None);
        let cleared = HashMap::from([(LABEL_RUN.to_owned(), String::new())]);
        assert_eq!(run_of("/agentless--1", &cleared), None);
        assert_eq!(run_of("/agentless-42-abc-3", &HashMap::new()), None);
    }

    #[tokio::test]
    async fn a_stalled_engine_is_a_typed_error_after_the_deadline_not_a_hang() {
        let (docker, _engine) = silent_engine().await;
        let starter = ContainerStarter {
            docker,
            run_id: Arc::from("stalled"),
            labels: Arc::new(HashMap::new()),
            next_container: Arc::new(AtomicUsize::new(0)),
            shut_down: Arc::new(tokio::sync::RwLock::new(false)),
            image_use: None,
            call_deadline: Duration::from_secs(1),
        };
        // The guard only turns a hang into a failure; the client's own timeout is an hour.
        let guard = Duration::from_secs(60);
        let started = tokio::time::timeout(guard, starter.start("agentless/python:3.11", None)).await;
        let error = started.expect("the start waited past the guard").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the Docker engine did not answer within 1 s while creating a container from agentless/python:3.11 (it \
             looks stalled)"
        );
    }
}
