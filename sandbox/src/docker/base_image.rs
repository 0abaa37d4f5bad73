//! The base images `agentless/python:X.Y`: a `debootstrap --variant=minbase` Debian root filesystem with Python,
//! git and a compiler, imported through the engine API (no registry needed). The rootfs tarball is cached.

use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::TryStreamExt;
use tokio::io::AsyncReadExt;

use super::{AGENT_UID, AGENT_USER, ImageKind, LABEL_BASE, LABEL_KIND, LABEL_VERSION, docker_error};
use crate::{SandboxError, TIMEOUT_EXIT_CODE};

const MIRROR: &str = "http://deb.debian.org/debian";
/// How long debootstrap may take (84 s here; a slow mirror takes minutes): a stalled download fails the build
/// instead of hanging it.
const DEBOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// debootstrap's downloads (wget) give up on a silent connection after a minute and try again, instead of waiting
/// wget's default 15 minutes 20 times over.
const WGET_SETTINGS: &str = "timeout = 60\ntries = 5\nwaitretry = 5\nretry_connrefused = on\n";
/// How long the other host steps of a base image build (user creation, tar) may take.
const HOST_STEP_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Python with its headers and a C toolchain (projects with C extensions build from source, as in SWE-bench's
/// images), git and patch for applying candidates, procps for process groups.
const PACKAGES: &str = "python3,python3-venv,python3-pip,python3-dev,git,ca-certificates,build-essential,pkg-config,libffi-dev,patch,procps";
pub(super) const IMAGE_REPOSITORY: &str = "agentless/python";

/// The Pythons Debian can give, by release: the Python of a base image and of a SWE-bench environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PythonVersion {
    /// Debian 11 (bullseye).
    Py39,
    /// Debian 12 (bookworm).
    Py311,
    /// Debian 13 (trixie).
    Py313,
}

impl PythonVersion {
    pub const ALL: [PythonVersion; 3] = [PythonVersion::Py39, PythonVersion::Py311, PythonVersion::Py313];

    pub fn version(self) -> &'static str {
        match self {
            PythonVersion::Py39 => "3.9",
            PythonVersion::Py311 => "3.11",
            PythonVersion::Py313 => "3.13",
        }
    }

    pub fn debian_suite(self) -> &'static str {
        match self {
            PythonVersion::Py39 => "bullseye",
            PythonVersion::Py311 => "bookworm",
            PythonVersion::Py313 => "trixie",
        }
    }

    /// `X` of `3.X`.
    pub fn minor(self) -> u32 {
        match self {
            PythonVersion::Py39 => 9,
            PythonVersion::Py311 => 11,
            PythonVersion::Py313 => 13,
        }
    }

    /// The closest Debian Python to a requested `3.x`; a tie goes to the older one (old pins are likelier to have
    /// wheels for it), and anything up to 3.10 maps to 3.9. `None` for a version that is not `3.x`.
    pub fn closest(requested: &str) -> Option<Self> {
        let minor: u32 = requested.trim().strip_prefix("3.")?.split('.').next()?.parse().ok()?;
        Self::ALL.into_iter().min_by_key(|candidate| (candidate.minor().abs_diff(minor), candidate.minor()))
    }

    /// `agentless/python:X.Y`.
    pub fn image(self) -> String {
        format!("{IMAGE_REPOSITORY}:{}", self.version())
    }

    /// `"3.11"` → [`PythonVersion::Py311`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|version| version.version() == text.trim())
    }
}

/// What [`build_base_image`] did.
#[derive(Debug, Clone)]
pub struct BaseImageBuild {
    pub image: String,
    pub rootfs_tarball: PathBuf,
    /// The cached tarball was used (no debootstrap ran).
    pub rootfs_cached: bool,
    pub debootstrap: Duration,
    pub import: Duration,
}

/// Whether the base image for `version` is present.
pub async fn base_image_exists(docker: &Docker, version: PythonVersion) -> Result<bool, SandboxError> {
    image_exists(docker, &version.image()).await
}

pub(crate) async fn image_exists(docker: &Docker, image: &str) -> Result<bool, SandboxError> {
    let inspect = docker.inspect_image(image);
    match super::answered(super::ENGINE_CALL_DEADLINE, || format!("inspecting image {image}"), inspect).await? {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(source) => Err(docker_error(format!("inspecting image {image}"), source)),
    }
}

/// Build `agentless/python:X.Y` unless it exists, saying on stderr (a warning) that the slow build starts.
pub async fn ensure_base_image(
    docker: &Docker,
    version: PythonVersion,
    cache_dir: &Path,
) -> Result<Option<BaseImageBuild>, SandboxError> {
    if base_image_exists(docker, version).await? {
        return Ok(None);
    }
    let _lock = BuildLock::acquire(cache_dir, version).await?;
    // Another task or process may have built it while this one waited for the lock.
    if base_image_exists(docker, version).await? {
        return Ok(None);
    }
    tracing::warn!("building the base image {} from Debian's archive (debootstrap; minutes, once)", version.image());
    build_locked(docker, version, cache_dir).await.map(Some)
}

/// An exclusive `flock` on `<cache>/base-<suite>.lock`, held while one base image is built: concurrent workers and
/// concurrent `agentless` processes share the debootstrap folder and tarball of a suite, so only one may build it.
/// The kernel releases the lock when its holder exits, however it exits.
struct BuildLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl BuildLock {
    async fn acquire(cache_dir: &Path, version: PythonVersion) -> Result<Self, SandboxError> {
        fs_err::create_dir_all(cache_dir)?;
        let path = cache_dir.join(format!("base-{}.lock", version.debian_suite()));
        let file = fs_err::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        let (file, _) = file.into_parts();
        let lock = tokio::task::spawn_blocking(move || {
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
                .map_err(|(_, errno)| std::io::Error::from(errno))
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(BuildLock { _lock: lock })
    }
}

/// Debootstrap the release into a folder under `cache_dir` (unless `rootfs-<suite>-<packages hash>.tar` is cached
/// there, so a changed package list is never served from an old tarball), add the
/// `agentless` user (uid 1000) and `/work`, tar it and import it as `agentless/python:X.Y`. Needs root and the
/// `debootstrap` package, and reaches deb.debian.org.
pub async fn build_base_image(
    docker: &Docker,
    version: PythonVersion,
    cache_dir: &Path,
) -> Result<BaseImageBuild, SandboxError> {
    let _lock = BuildLock::acquire(cache_dir, version).await?;
    build_locked(docker, version, cache_dir).await
}

/// [`build_base_image`] with the suite's [`BuildLock`] already held.
async fn build_locked(
    docker: &Docker,
    version: PythonVersion,
    cache_dir: &Path,
) -> Result<BaseImageBuild, SandboxError> {
    fs_err::create_dir_all(cache_dir)?;
    let suite = version.debian_suite();
    let packages_hash = format!("{:x}", sha2::Sha256::digest(PACKAGES.as_bytes()));
    let tarball = cache_dir.join(format!("rootfs-{suite}-{}.tar", &packages_hash[..12]));
    let started = Instant::now();
    let rootfs_cached = tarball.is_file();
    if !rootfs_cached {
        bootstrap_rootfs_tarball(suite, cache_dir, &tarball).await?;
    }
    let debootstrap = started.elapsed();

    let started = Instant::now();
    let image = version.image();
    tracing::info!(%image, tarball = %tarball.display(), "importing the base image");
    let file = tokio::fs::File::open(&tarball).await?;
    let chunks = futures::stream::try_unfold(file, |mut file| async move {
        let mut buffer = vec![0; 1 << 20];
        let read = file.read(&mut buffer).await?;
        buffer.truncate(read);
        Ok::<_, std::io::Error>((read > 0).then(|| (bytes::Bytes::from(buffer), file)))
    });
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(IMAGE_REPOSITORY)
        .tag(version.version())
        .changes(vec![
            "ENV LANG=C.UTF-8".to_owned(),
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            format!("LABEL {LABEL_BASE}={}", version.version()),
            format!("LABEL {LABEL_KIND}={}", ImageKind::Base.label()),
            format!("LABEL {LABEL_VERSION}={}", version.version()),
            "CMD [\"sleep\", \"infinity\"]".to_owned(),
        ])
        .build();
    let import =
        docker.create_image(Some(options), Some(bollard::body_try_stream(chunks)), None).try_collect::<Vec<_>>();
    // The client's timeout covers the answer's headers only; the import's progress stream gets the same bound here.
    super::answered(super::ENGINE_REQUEST_TIMEOUT, || format!("importing {}", tarball.display()), import)
        .await?
        .map_err(|source| docker_error(format!("importing {}", tarball.display()), source))?;
    if !image_exists(docker, &image).await? {
        return Err(SandboxError::ImageMissing {
            image,
            hint: "the engine accepted the import but has no such image".to_owned(),
        });
    }
    Ok(BaseImageBuild { image, rootfs_tarball: tarball, rootfs_cached, debootstrap, import: started.elapsed() })
}

async fn bootstrap_rootfs_tarball(suite: &str, cache_dir: &Path, tarball: &Path) -> Result<(), SandboxError> {
    if !nix::unistd::geteuid().is_root() {
        return Err(SandboxError::BaseImagePrerequisite {
            requirement: "root (debootstrap and chroot), e.g. `sudo agentless ...` once; later runs reuse the image"
                .to_owned(),
        });
    }
    let debootstrap = ["/usr/sbin/debootstrap", "/usr/bin/debootstrap", "/sbin/debootstrap"]
        .into_iter()
        .map(Path::new)
        .find(|path| path.is_file())
        .ok_or_else(|| SandboxError::BaseImagePrerequisite {
            requirement: "the debootstrap package (`apt-get install debootstrap`)".to_owned(),
        })?;
    let root = cache_dir.join(format!("rootfs-{suite}.partial"));
    if root.exists() {
        // A debootstrap that was killed leaves /proc, /sys and the host's /dev/pts and /dev/shm mounted in it:
        // deleting through them would delete host files.
        unmount_below(&root)?;
        fs_err::remove_dir_all(&root)?;
    }
    let log_path = cache_dir.join(format!("debootstrap-{suite}.log"));
    tracing::info!(suite, log = %log_path.display(), "debootstrap of the base image (this takes minutes)");
    let root_text = root.display().to_string();
    let wgetrc = cache_dir.join("wgetrc");
    fs_err::write(&wgetrc, WGET_SETTINGS)?;
    host_command(
        debootstrap.to_string_lossy().as_ref(),
        &["--variant=minbase", &format!("--include={PACKAGES}"), suite, &root_text, MIRROR],
        &[("WGETRC", wgetrc.as_os_str())],
        &log_path,
        DEBOOTSTRAP_TIMEOUT,
    )
    .await?;
    host_command(
        "chroot",
        &[
            &root_text,
            "useradd",
            "--create-home",
            "--uid",
            &AGENT_UID.to_string(),
            "--user-group",
            "--shell",
            "/bin/bash",
            AGENT_USER,
        ],
        &[],
        &log_path,
        HOST_STEP_TIMEOUT,
    )
    .await?;
    let work = root.join("work");
    fs_err::create_dir_all(&work)?;
    std::os::unix::fs::chown(&work, Some(AGENT_UID), Some(AGENT_UID))?;
    let archives = root.join("var/cache/apt/archives");
    for entry in fs_err::read_dir(&archives)? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "deb") {
            fs_err::remove_file(path)?;
        }
    }
    let partial_tarball = tarball.with_extension("tar.partial");
    host_command(
        "tar",
        &[
            "--numeric-owner",
            "-C",
            &root_text,
            "--exclude=./dev/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "-cf",
            &partial_tarball.display().to_string(),
            ".",
        ],
        &[],
        &log_path,
        HOST_STEP_TIMEOUT,
    )
    .await?;
    fs_err::rename(&partial_tarball, tarball)?;
    fs_err::remove_dir_all(&root)?;
    Ok(())
}

/// Unmount (lazily, deepest first) whatever is mounted below `root`; an error when something stays mounted.
fn unmount_below(root: &Path) -> Result<(), SandboxError> {
    let root = fs_err::canonicalize(root)?;
    let mut mounted = mount_points_below(&fs_err::read_to_string("/proc/self/mountinfo")?, &root);
    mounted.sort_by_key(|point| std::cmp::Reverse(point.as_os_str().len()));
    for point in &mounted {
        let status = std::process::Command::new("umount")
            .arg("--lazy")
            .arg(point)
            .status()
            .map_err(|source| SandboxError::Spawn { program: "umount".to_owned(), source })?;
        if !status.success() {
            return Err(SandboxError::HostCommand {
                command: format!("umount --lazy {}", point.display()),
                exit_code: status.code().unwrap_or(-1),
                output: format!(
                    "{} is still mounted in the old debootstrap folder; unmount it, then build again",
                    point.display()
                ),
            });
        }
    }
    Ok(())
}

/// The mount points in `mountinfo` (the format of `/proc/self/mountinfo`) strictly below `root`.
fn mount_points_below(mountinfo: &str, root: &Path) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(unescape_mount_point(point)))
        .filter(|point| point != root && point.starts_with(root))
        .collect()
}

/// A mount point as the kernel writes it: space, tab, newline and backslash as three octal digits after `\`.
fn unescape_mount_point(escaped: &str) -> String {
    let mut text = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(at) = rest.find('\\') {
        text.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4).and_then(|digits| u8::from_str_radix(digits, 8).ok());
        match code {
            Some(code) => {
                text.push(char::from(code));
                rest = &rest[at + 4..];
            }
            None => {
                text.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    text.push_str(rest);
    text
}

/// How long a host command gets between SIGTERM (debootstrap's exit trap unmounts what it mounted) and SIGKILL.
const HOST_GRACE: Duration = Duration::from_secs(30);

/// A process group sent SIGTERM when dropped, so a cancelled build (Ctrl-C) stops its downloads and lets
/// debootstrap unmount what it mounted.
struct TerminatedOnDrop(Option<nix::unistd::Pid>);

impl TerminatedOnDrop {
    fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Some(group) = self.0 {
            let _ = nix::sys::signal::killpg(group, signal);
        }
    }
}

impl Drop for TerminatedOnDrop {
    fn drop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
    }
}

/// Run a host tool (with `envs` added to its environment) in a process group of its own with its output appended
/// to `log_path`; a failure carries the log's tail. Past `timeout` the group gets SIGTERM, then SIGKILL
/// [`HOST_GRACE`] later, and the failure has exit code [`TIMEOUT_EXIT_CODE`].
async fn host_command(
    program: &str,
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
    log_path: &Path,
    timeout: Duration,
) -> Result<(), SandboxError> {
    let log = fs_err::OpenOptions::new().create(true).append(true).open(log_path)?;
    let (log, _) = log.into_parts();
    let log_err = log.try_clone()?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .process_group(0)
        .spawn()
        .map_err(|source| SandboxError::Spawn { program: program.to_owned(), source })?;
    let mut group =
        TerminatedOnDrop(child.id().and_then(|pid| i32::try_from(pid).ok()).map(nix::unistd::Pid::from_raw));
    let (exit_code, stopped) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => {
            group.0 = None;
            let status = status?;
            if status.success() {
                return Ok(());
            }
            (status.code().unwrap_or(-1), String::new())
        }
        Err(_) => {
            group.signal(nix::sys::signal::Signal::SIGTERM);
            let _ = tokio::time::timeout(HOST_GRACE, child.wait()).await;
            // Whatever of the group outlived the grace (the leader too, when it ignored SIGTERM) is killed.
            group.signal(nix::sys::signal::Signal::SIGKILL);
            let _ = tokio::time::timeout(HOST_GRACE, child.wait()).await;
            group.0 = None;
            (TIMEOUT_EXIT_CODE, format!("stopped after {} s without finishing\n", timeout.as_secs()))
        }
    };
    let text = fs_err::read(log_path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(20).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(SandboxError::HostCommand {
        command: format!("{program} {}", args.join(" ")),
        exit_code,
        output: format!("{stopped}{}\n(full log: {})", tail.join("\n"), log_path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_to_releases_and_tags() {
        let described: Vec<String> = PythonVersion::ALL
            .into_iter()
            .map(|version| format!("{} {} {}", version.version(), version.debian_suite(), version.image()))
            .collect();
        assert_eq!(
            described,
            [
                "3.9 bullseye agentless/python:3.9",
                "3.11 bookworm agentless/python:3.11",
                "3.13 trixie agentless/python:3.13"
            ]
        );
        assert_eq!(PythonVersion::parse(" 3.13"), Some(PythonVersion::Py313));
        assert_eq!(PythonVersion::parse("3.10"), None);
    }

    #[test]
    fn a_failing_host_command_reports_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let failing = host_command("sh", &["-c", "echo boom; exit 3"], &[], &log, Duration::from_secs(60));
        let error = runtime.block_on(failing).unwrap_err();
        let SandboxError::HostCommand { exit_code, output, .. } = error else { panic!("{error}") };
        assert_eq!(exit_code, 3);
        assert!(output.starts_with("boom\n"), "{output}");
    }

    #[test]
    fn mounts_left_in_an_old_debootstrap_folder_are_found_deepest_paths_included() {
        let mountinfo = "\
22 1 0:21 / /proc rw,nosuid - proc proc rw
90 80 0:5 / /cache/rootfs-bookworm.partial/proc rw - proc proc rw
91 80 0:6 /pts /cache/rootfs-bookworm.partial/dev/pts rw - devpts devpts rw
92 80 0:7 / /cache/rootfs-bookworm.partial\\040x/sys rw - sysfs sysfs rw
93 80 0:8 / /cache/rootfs-bookworm.partial2/proc rw - proc proc rw
94 80 0:9 / /cache/rootfs-bookworm.partial rw - tmpfs tmpfs rw
";
        let found = mount_points_below(mountinfo, Path::new("/cache/rootfs-bookworm.partial"));
        assert_eq!(
            found,
            [
                PathBuf::from("/cache/rootfs-bookworm.partial/proc"),
                PathBuf::from("/cache/rootfs-bookworm.partial/dev/pts"),
            ]
        );
        let escaped = mount_points_below(mountinfo, Path::new("/cache/rootfs-bookworm.partial x"));
        assert_eq!(escaped, [PathBuf::from("/cache/rootfs-bookworm.partial x/sys")]);
    }

    #[test]
    fn a_cancelled_host_command_stops_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let marker = dir.path().join("child-still-ran");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let script = format!("(sleep 2; touch {}) & wait", marker.display());
        let args = ["-c", script.as_str()];
        // Dropping the future is what Ctrl-C does to a build in progress.
        let running = host_command("sh", &args, &[], &log, Duration::from_secs(60));
        let cancelled = runtime.block_on(async { tokio::time::timeout(Duration::from_millis(500), running).await });
        assert!(cancelled.is_err());
        std::thread::sleep(Duration::from_secs(3));
        assert!(!marker.exists(), "the command's child outlived the cancellation");
    }

    #[test]
    fn a_host_command_past_its_timeout_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let marker = dir.path().join("child-still-ran");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // A child in the background (as debootstrap's wget) that would write the marker if it outlived the kill.
        let script = format!("(sleep 3; touch {}) & echo fetching; wait", marker.display());
        let args = ["-c", script.as_str()];
        let hanging = host_command("sh", &args, &[], &log, Duration::from_secs(1));
        let error = runtime.block_on(hanging).unwrap_err();
        let SandboxError::HostCommand { exit_code, output, .. } = error else { panic!("{error}") };
        assert_eq!(exit_code, TIMEOUT_EXIT_CODE);
        assert!(output.starts_with("stopped after 1 s without finishing\nfetching\n"), "{output}");
        std::thread::sleep(Duration::from_secs(4));
        assert!(!marker.exists(), "the command's child outlived the timeout");
    }

    #[test]
    fn one_build_lock_per_suite_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let held = BuildLock::acquire(dir.path(), PythonVersion::Py39).await.unwrap();
            // Another suite is not blocked by it.
            drop(BuildLock::acquire(dir.path(), PythonVersion::Py311).await.unwrap());
            let path = dir.path().to_owned();
            let waiter = tokio::spawn(async move { BuildLock::acquire(&path, PythonVersion::Py39).await.map(drop) });
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert!(!waiter.is_finished(), "a second build of the same suite must wait for the first");
            drop(held);
            waiter.await.unwrap().unwrap();
        });
    }
}
