//! The Docker sandbox: the same behaviours as the local one plus isolation (network, memory, processes, the
//! environment), a pristine container for every candidate, recovery after a fault, and that no container outlives
//! its run.

use std::collections::HashMap;
use std::time::Duration;

use agentless_sandbox::docker::{
    DockerRuntime, DockerSandbox, ImageKind, ImageLabels, LABEL_OWNER_PID, LABEL_RUN, ProjectImage,
    ProjectImageOptions, PythonVersion, WorkerLimits,
};
use agentless_sandbox::environment::TestEnvironment;
use agentless_sandbox::{ExecRequest, PatchMethod, Sandbox, SandboxError, Setup, TIMEOUT_EXIT_CODE, TRUNCATION_MARKER};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptionsBuilder, ListContainersOptionsBuilder};
use pretty_assertions::assert_eq;

use crate::support::{BROKEN, CORE, FIX, docker_image, fresh_runtime, image_runtime, shell};

async fn worker(limits: WorkerLimits) -> Option<(DockerRuntime, DockerSandbox)> {
    worker_with(limits, &TestEnvironment::default()).await
}

async fn worker_with(limits: WorkerLimits, environment: &TestEnvironment) -> Option<(DockerRuntime, DockerSandbox)> {
    let image: ProjectImage = docker_image()?;
    let runtime = fresh_runtime().await;
    let sandbox = runtime.start_worker(&image, &limits, environment).await.unwrap();
    Some((runtime, sandbox))
}

async fn run_containers(runtime: &DockerRuntime, run_id: &str) -> Vec<String> {
    let filters = HashMap::from([("label", vec![format!("{LABEL_RUN}={run_id}")])]);
    let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
    let containers = runtime.docker().list_containers(Some(options)).await.unwrap();
    containers.into_iter().filter_map(|container| container.id).collect()
}

/// Processes of the sandbox user other than the in-container runner and the `ps` listing them.
async fn user_processes(sandbox: &DockerSandbox) -> String {
    let listing =
        "ps -u agentless -o args= | grep -v -e '^ps ' -e '^sh -c' -e '^grep' -e '^/usr/bin/python3 -u -c' || true";
    sandbox.exec(&shell(listing)).await.unwrap().stdout
}

#[tokio::test]
async fn exec_runs_as_the_sandbox_user_with_the_virtualenv() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    let output = sandbox
        .exec(&shell(
            "id -un; pwd; command -v python; python -c 'import sys; print(sys.version_info[:2])'; echo e >&2; exit 5",
        ))
        .await
        .unwrap();
    assert_eq!(output.stdout, "agentless\n/work/repo\n/work/venv/bin/python\n(3, 11)\n");
    assert_eq!((output.stderr.as_str(), output.exit_code, output.timed_out), ("e\n", 5, false));
    let mut capped = shell("python -c \"print('a' * 5000 + 'b' * 5000 + 'END')\"");
    capped.output_cap = 100;
    let capped = sandbox.exec(&capped).await.unwrap();
    assert!(capped.truncated);
    assert_eq!(capped.stdout, format!("{}\n{TRUNCATION_MARKER}\n{}END\n", "a".repeat(50), "b".repeat(46)));
    runtime.shutdown().await.unwrap();
}

/// Root installs the image's Debian packages (from Debian's archive, with the build's network) in a layer shared by
/// every project image that asks for the same ones; the setup runs as the sandbox user and can use them.
///
/// Ignored by default: the install step is `apt-get update && apt-get install`, which reaches Debian's archive, and
/// tests never touch the network. A package from a local `.deb` or the base image's cache would need the install
/// step to skip `apt-get update`, a change to `sandbox/src/docker/project_image.rs`, left to its owner. Run it with
/// `cargo test -p agentless-sandbox --test it -- --ignored system_packages` on a machine that may reach the archive.
/// Both project images it builds are removed; the shared system layer is kept, like the base image, as a cache.
#[tokio::test]
#[ignore = "reaches Debian's archive (apt-get update); run with --ignored where the network is allowed"]
async fn system_packages_are_installed_by_root_in_a_shared_layer() {
    let Some(runtime) = image_runtime().await else { return };
    let options = |setup: &str| ProjectImageOptions {
        python: PythonVersion::Py311,
        setup: Setup::Command(setup.to_owned()),
        system_packages: vec!["jq".to_owned()],
        pip_cert: None,
        labels: ImageLabels::new(ImageKind::Project),
        scm_version: None,
    };
    let first = runtime.project_image(&crate::support::project(), &options("jq --version > jq.txt")).await.unwrap();
    // A new setup, so a new project image, built on the same system layer: nothing is installed again.
    let unique = format!("id -un > whoami.txt && jq --version > jq.txt # {}", DockerRuntime::new_run_id());
    let second = runtime.project_image(&crate::support::project(), &options(&unique)).await.unwrap();
    assert!(!second.reused);
    assert!(!second.setup_log.contains("apt-get"), "{}", second.setup_log);
    let sandbox = runtime.start_worker(&second, &WorkerLimits::default(), &TestEnvironment::default()).await.unwrap();
    let output = sandbox.exec(&shell("cat whoami.txt; cut -d- -f1 jq.txt")).await.unwrap();
    assert_eq!(output.stdout, "agentless\njq\n", "{output:?}");
    runtime.shutdown().await.unwrap();
    for image in [&first.image, &second.image] {
        let _ = runtime.docker().remove_image(image, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    }
    assert!(first.image != second.image);
}

#[tokio::test]
async fn an_infinite_loop_is_stopped_by_the_timeout_and_the_next_exec_works() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    let mut request = ExecRequest::new(["python", "-c", "while True: pass"], Duration::from_secs(2));
    request.timeout = Duration::from_secs(2);
    let output = sandbox.exec(&request).await.unwrap();
    assert_eq!((output.exit_code, output.timed_out), (TIMEOUT_EXIT_CODE, true));
    assert_eq!(user_processes(&sandbox).await, "", "the loop was killed");
    let next = sandbox.exec(&shell("echo ok")).await.unwrap();
    assert_eq!((next.exit_code, next.stdout.as_str()), (0, "ok\n"));
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_grandchild_holding_the_pipes_cannot_hang_the_exec() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    // Waiting for the pipes to close would capture `late`, or hit the command's timeout.
    let output = sandbox.exec(&shell("(sleep 60; echo late) & echo started")).await.unwrap();
    assert_eq!((output.exit_code, output.stdout.as_str(), output.timed_out), (0, "started\n", false));
    assert_eq!(user_processes(&sandbox).await, "", "the straggler was killed");
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fork_bomb_is_contained() {
    let Some((runtime, sandbox)) = worker(WorkerLimits { pids: 64, ..WorkerLimits::default() }).await else { return };
    let bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n";
    let request = ExecRequest::new(["python", "-c", bomb], Duration::from_secs(4));
    let output = sandbox.exec(&request).await.unwrap();
    assert!(!output.success(), "{output:?}");
    let next = sandbox.exec(&shell("echo ok")).await.unwrap();
    assert_eq!((next.exit_code, next.stdout.as_str()), (0, "ok\n"));
    assert_eq!(user_processes(&sandbox).await, "");
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_memory_hog_is_killed_inside_its_limit() {
    let Some((runtime, sandbox)) = worker(WorkerLimits { memory_bytes: 256 << 20, ..WorkerLimits::default() }).await
    else {
        return;
    };
    let request = ExecRequest::new(["python", "-c", "x = b'x' * (1 << 30); print(len(x))"], Duration::from_secs(60));
    let output = sandbox.exec(&request).await.unwrap();
    assert!(!output.success(), "{output:?}");
    assert!(!output.timed_out);
    assert!(matches!(output.exit_code, 137 | 1), "killed by the OOM killer or MemoryError: {output:?}");
    let next = sandbox.exec(&shell("echo ok")).await.unwrap();
    assert_eq!(next.stdout, "ok\n");
    runtime.shutdown().await.unwrap();
}

/// The cut is proven from inside (no interface but `lo`) and from the engine's inspect data, never by trying to reach
/// a public address.
#[tokio::test]
async fn the_network_is_cut_and_the_limits_hold_as_the_engine_reports() {
    let limits = WorkerLimits { memory_bytes: 512 << 20, nano_cpus: 1_000_000_000, pids: 256 };
    let Some((runtime, sandbox)) = worker(limits).await else { return };
    let output = sandbox.exec(&shell("id -u; cat /proc/net/dev")).await.unwrap();
    let mut lines = output.stdout.lines();
    assert_eq!(lines.next(), Some("1000"), "{output:?}");
    let interfaces: Vec<&str> =
        lines.skip(2).filter_map(|line| line.split_once(':')).map(|(name, _)| name.trim()).collect();
    assert_eq!(interfaces, ["lo"], "{output:?}");

    let inspected = runtime.docker().inspect_container(&sandbox.container_id(), None).await.unwrap();
    let host = inspected.host_config.unwrap();
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert!(host.cap_drop.unwrap_or_default().contains(&"ALL".to_owned()));
    assert!(host.security_opt.unwrap_or_default().iter().any(|option| option.starts_with("no-new-privileges")));
    assert_eq!((host.memory, host.memory_swap), (Some(512 << 20), Some(512 << 20)));
    assert_eq!((host.pids_limit, host.nano_cpus), (Some(256), Some(1_000_000_000)));
    let isolation = sandbox.isolation();
    assert_eq!((isolation.mechanism.as_str(), isolation.network_cut), ("docker", true));
    assert_eq!((isolation.process_limit, isolation.memory_limit), (Some(256), Some(512 << 20)));

    // Loopback still works, by name: test suites start servers on `localhost` (Django's live server tests).
    let loopback = "import socket\ns = socket.create_server(('localhost', 0))\nc = socket.create_connection(s.getsockname())\n\
                    print(s.accept()[1][0])";
    let output = sandbox.exec(&ExecRequest::new(["python", "-c", loopback], Duration::from_secs(30))).await.unwrap();
    assert_eq!(output.stdout.trim(), "127.0.0.1", "{output:?}");
    runtime.shutdown().await.unwrap();
}

/// Nothing reaches a test process but the allowlist: the base variables, the user's passed ones, the request's
/// (without secret-looking names).
#[tokio::test]
async fn test_processes_see_only_the_allowlisted_environment() {
    let host = [("LANG", "C.UTF-8"), ("DJANGO_SETTINGS_MODULE", "tests.settings"), ("OPENAI_API_KEY", "sk-canary")]
        .map(|(name, value)| (name.to_owned(), value.to_owned()));
    let environment = TestEnvironment::from_variables(host, &["DJANGO_SETTINGS_MODULE".to_owned()]).unwrap();
    let Some((runtime, sandbox)) = worker_with(WorkerLimits::default(), &environment).await else { return };
    let mut request = ExecRequest::new(
        ["python", "-c", "import os; print(sorted(os.environ)); print(os.environ['DJANGO_SETTINGS_MODULE'])"],
        Duration::from_secs(30),
    );
    request.env = vec![("EXTRA".to_owned(), "1".to_owned()), ("ANTHROPIC_API_KEY".to_owned(), "sk-canary".to_owned())];
    let output = sandbox.exec(&request).await.unwrap();
    assert_eq!(
        output.stdout, "['DJANGO_SETTINGS_MODULE', 'EXTRA', 'HOME', 'LANG', 'PATH', 'VIRTUAL_ENV']\ntests.settings\n",
        "{output:?}"
    );
    runtime.shutdown().await.unwrap();
}

/// A candidate that poisons the virtualenv with a `.pth`, writes to `$HOME` and `/tmp` and leaves a `setsid`
/// process behind: after a reset, none of it is there, in a new container.
#[tokio::test]
async fn reset_restores_the_pristine_state_in_a_fresh_container() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    let before = sandbox.container_id();
    sandbox.reset().await.unwrap();
    assert_eq!(sandbox.container_id(), before, "an unused container is kept");
    let site = "$(python -c 'import sysconfig; print(sysconfig.get_paths()[\"purelib\"])')";
    let candidate = format!(
        "echo 'import sys; sys.stderr.write(\"poisoned\" + chr(10))' > {site}/zz_poison.pth && echo planted > \"$HOME/planted\" \
         && echo planted > /tmp/planted && (setsid sleep 1000 > /dev/null 2>&1 < /dev/null &) && sleep 0.2 \
         && ps -u agentless -o args= | grep -c '^sleep 1000'"
    );
    let planted = sandbox.exec(&shell(&candidate)).await.unwrap();
    assert_eq!((planted.exit_code, planted.stdout.as_str()), (0, "1\n"), "{planted:?}");
    let poisoned = sandbox.exec(&shell("python -c pass")).await.unwrap();
    assert!(poisoned.stderr.starts_with("poisoned\n"), "the .pth runs in every interpreter: {poisoned:?}");

    sandbox.reset().await.unwrap();
    let check = format!(
        "ls -d {site}/zz_poison.pth \"$HOME/planted\" /tmp/planted 2>/dev/null; ls -A /tmp \"$HOME\"; python -c pass; \
         ps -e -o args= | grep -c '^sleep 1000'"
    );
    let after = sandbox.exec(&shell(&check)).await.unwrap();
    let home = "/home/agentless:\n.bash_logout\n.bashrc\n.profile\n";
    assert_eq!((after.stdout, after.stderr), (format!("{home}\n/tmp:\n0\n"), String::new()));
    assert_eq!(user_processes(&sandbox).await, "");
    assert_ne!(sandbox.container_id(), before);

    // The used container and the spare (started by the reset) belong to the run: its shutdown removes them.
    sandbox.reset().await.unwrap();
    runtime.shutdown().await.unwrap();
    assert_eq!(run_containers(&runtime, runtime.run_id()).await, Vec::<String>::new());
    assert!(sandbox.exec(&shell("true")).await.is_err());
    let error = sandbox.reset().await.unwrap_err();
    assert!(matches!(error, SandboxError::RunShutDown { .. }), "{error}");
}

#[tokio::test]
async fn a_killed_container_gives_a_typed_error_and_recover_replaces_it() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    assert_eq!(sandbox.exec(&shell("echo ok")).await.unwrap().stdout, "ok\n");
    let killed = sandbox.container_id();
    runtime.docker().kill_container(&killed, None::<bollard::query_parameters::KillContainerOptions>).await.unwrap();
    let error =
        tokio::time::timeout(Duration::from_secs(60), sandbox.exec(&shell("echo hi"))).await.unwrap().unwrap_err();
    assert!(matches!(error, SandboxError::ContainerNotRunning { ref container } if *container == killed), "{error}");
    sandbox.recover().await.unwrap();
    assert_ne!(sandbox.container_id(), killed);
    let output = sandbox.exec(&shell("echo ok; git status --porcelain")).await.unwrap();
    assert_eq!((output.exit_code, output.stdout.as_str()), (0, "ok\n"), "{output:?}");
    runtime.shutdown().await.unwrap();
}

/// A project image that exists is reused, and the reuse still shows the setup that built it: a run on a machine
/// where the image was built before (a CI runner's engine, yesterday's run) has a setup log that says what happened.
#[tokio::test]
async fn a_reused_image_shows_the_setup_log_of_its_build() {
    let Some(runtime) = image_runtime().await else { return };
    let marker = format!("set-up-by-{}", DockerRuntime::new_run_id());
    let options = ProjectImageOptions {
        python: PythonVersion::Py311,
        setup: Setup::Command(format!("echo {marker}")),
        system_packages: Vec::new(),
        pip_cert: None,
        labels: ImageLabels::new(ImageKind::Project),
        scm_version: None,
    };
    let built = runtime.project_image(&crate::support::project(), &options).await.unwrap();
    let reused = runtime.project_image(&crate::support::project(), &options).await.unwrap();
    // The build container's run labels are not passed on to containers started from the image.
    let inspected = runtime.docker().inspect_image(&built.image).await.unwrap();
    let labels = inspected.config.and_then(|config| config.labels).unwrap_or_default();
    let run_labels: Vec<_> =
        [LABEL_RUN, LABEL_OWNER_PID].iter().map(|label| labels.get(*label).map(String::as_str)).collect();
    let _ =
        runtime.docker().remove_image(&built.image, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    runtime.shutdown().await.unwrap();
    assert!(!built.reused && built.setup_log.contains(&marker), "{}", built.setup_log);
    assert!(reused.reused);
    assert_eq!(reused.image, built.image);
    let first_line = format!("# reused {}; the log of the setup that built it follows\n", built.image);
    assert_eq!(reused.setup_log, format!("{first_line}{}", built.setup_log));
    assert_eq!(run_labels, [Some(""), Some("")]);
}

/// Setup that writes bytecode (an import, `compileall`) and a pytest cache in the checkout: none of it enters the
/// baseline commit, setup ran with `PYTHONDONTWRITEBYTECODE=1`, and resets work after the tests wrote caches again.
#[tokio::test]
async fn generated_files_stay_out_of_the_baseline() {
    let Some(runtime) = image_runtime().await else { return };
    let setup = "echo \"$PYTHONDONTWRITEBYTECODE\" > dont-write.txt && python -c 'import calc' \
                 && python -m compileall -q calc tests && mkdir -p .pytest_cache/v && touch .pytest_cache/v/x";
    let options = ProjectImageOptions {
        python: PythonVersion::Py311,
        setup: Setup::Command(setup.to_owned()),
        system_packages: Vec::new(),
        pip_cert: None,
        labels: ImageLabels::new(ImageKind::Project),
        scm_version: None,
    };
    let image = runtime.project_image(&crate::support::project(), &options).await.unwrap();
    let sandbox = runtime.start_worker(&image, &WorkerLimits::default(), &TestEnvironment::default()).await.unwrap();
    let tracked = sandbox
        .exec(&shell("git ls-files; cat dont-write.txt; grep -c -e __pycache__ -e pytest_cache .git/info/exclude"))
        .await
        .unwrap();
    assert_eq!(
        tracked.stdout,
        ".gitignore\ncalc/__init__.py\ncalc/core.py\ncalc/notes.txt\ndont-write.txt\ntests/test_core.py\n1\n2\n",
        "{tracked:?}"
    );

    let test = "python -m compileall -q calc tests && python -c 'import calc' && ls calc/__pycache__ | wc -l";
    let compiled = sandbox.exec(&shell(test)).await.unwrap();
    assert_eq!((compiled.exit_code, compiled.stdout.as_str()), (0, "2\n"), "tests may write bytecode: {compiled:?}");
    sandbox.reset_checkout().await.unwrap();
    let status = sandbox.exec(&shell("git status --porcelain --ignored")).await.unwrap();
    assert_eq!(status.stdout, "");
    sandbox.exec(&shell(test)).await.unwrap();
    sandbox.reset().await.unwrap();
    let fresh = sandbox.exec(&shell("find . -name __pycache__ -o -name '*.pyc' -o -name .pytest_cache")).await.unwrap();
    assert_eq!((fresh.exit_code, fresh.stdout.as_str()), (0, ""), "{fresh:?}");
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn patches_apply_or_are_recorded_as_failed_and_reset_restores_the_baseline() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    let failed = sandbox.apply_patch(BROKEN).await.unwrap();
    assert!(!failed.applied());
    assert_eq!(failed.attempts.len(), 3);
    assert!(failed.log().contains("patch does not apply"), "{}", failed.log());

    let applied = sandbox.apply_patch(FIX).await.unwrap();
    assert_eq!(applied.method, Some(PatchMethod::GitApply), "{}", applied.log());
    let test = sandbox.exec(&shell("python -c 'import calc; assert calc.add(1, 2) == 3'")).await.unwrap();
    assert_eq!(test.exit_code, 0, "{test:?}");

    sandbox.write_file("new/deep/file.py", b"x = 1\n").await.unwrap();
    let owned = sandbox.exec(&shell("stat -c %U new new/deep new/deep/file.py")).await.unwrap();
    assert_eq!(owned.stdout, "agentless\nagentless\nagentless\n");
    sandbox.exec(&shell("rm tests/test_core.py calc/notes.txt && mkdir -p build && touch build/x.o")).await.unwrap();
    sandbox.reset().await.unwrap();
    let status = sandbox
        .exec(&shell("git status --porcelain --ignored; cat calc/core.py; wc -l < calc/notes.txt"))
        .await
        .unwrap();
    assert_eq!(status.stdout, format!("{CORE}7\n"));
    let venv = sandbox.exec(&shell("test -x /work/venv/bin/python && echo kept")).await.unwrap();
    assert_eq!(venv.stdout, "kept\n");
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_removed_container_gives_a_typed_error() {
    let Some((runtime, sandbox)) = worker(WorkerLimits::default()).await else { return };
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
    runtime.docker().remove_container(&sandbox.container_id(), Some(options)).await.unwrap();
    let error =
        tokio::time::timeout(Duration::from_secs(10), sandbox.exec(&shell("echo hi"))).await.unwrap().unwrap_err();
    assert!(matches!(error, SandboxError::ContainerGone { .. }), "{error}");
    // A reset moves to a fresh container whatever became of the used one.
    sandbox.reset().await.unwrap();
    assert_eq!(sandbox.exec(&shell("echo ok")).await.unwrap().stdout, "ok\n");
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn nothing_is_left_behind_after_shutdown_or_drop() {
    let Some(image) = docker_image() else { return };
    let runtime = fresh_runtime().await;
    let run_id = runtime.run_id().to_owned();
    let workers =
        runtime.start_workers(&image, 2, &WorkerLimits::default(), &TestEnvironment::default()).await.unwrap();
    assert_eq!(run_containers(&runtime, &run_id).await.len(), 2);
    assert_eq!(runtime.shutdown().await.unwrap(), 2);
    assert_eq!(run_containers(&runtime, &run_id).await, Vec::<String>::new());
    assert!(workers[0].exec(&shell("true")).await.is_err());

    let dropped = fresh_runtime().await;
    let dropped_id = dropped.run_id().to_owned();
    let _worker = dropped.start_worker(&image, &WorkerLimits::default(), &TestEnvironment::default()).await.unwrap();
    drop(dropped);
    assert_eq!(run_containers(&runtime, &dropped_id).await, Vec::<String>::new());
}

#[tokio::test]
async fn containers_of_dead_runs_are_reaped_at_the_next_start() {
    let Some(image) = docker_image() else { return };
    let runtime = fresh_runtime().await;
    let mut exited = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = exited.id();
    exited.wait().unwrap();
    let orphan_run = format!("it-orphan-{}", DockerRuntime::new_run_id());
    let labels =
        HashMap::from([(LABEL_RUN.to_owned(), orphan_run.clone()), (LABEL_OWNER_PID.to_owned(), dead_pid.to_string())]);
    let body = ContainerCreateBody {
        image: Some(image.image.clone()),
        cmd: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
        labels: Some(labels),
        ..ContainerCreateBody::default()
    };
    let name = format!("agentless-{orphan_run}");
    let created = runtime
        .docker()
        .create_container(Some(CreateContainerOptionsBuilder::default().name(&name).build()), body)
        .await
        .unwrap();
    runtime.docker().start_container(&created.id, None).await.unwrap();
    let alive = runtime.start_worker(&image, &WorkerLimits::default(), &TestEnvironment::default()).await.unwrap();
    // Someone else's container with a dead run's labels, as an image built before commits cleared them passes on.
    let inherited_run = format!("it-inherited-{}", DockerRuntime::new_run_id());
    let body = ContainerCreateBody {
        image: Some(image.image.clone()),
        cmd: Some(vec!["sleep".to_owned(), "infinity".to_owned()]),
        labels: Some(HashMap::from([
            (LABEL_RUN.to_owned(), inherited_run.clone()),
            (LABEL_OWNER_PID.to_owned(), dead_pid.to_string()),
        ])),
        ..ContainerCreateBody::default()
    };
    let theirs = runtime
        .docker()
        .create_container(None::<bollard::query_parameters::CreateContainerOptions>, body)
        .await
        .unwrap();

    let next = fresh_runtime().await;
    assert_eq!(run_containers(&next, &orphan_run).await, Vec::<String>::new(), "the orphan was reaped");
    assert_eq!(
        run_containers(&next, &inherited_run).await,
        std::slice::from_ref(&theirs.id),
        "someone else's container is kept"
    );
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
    runtime.docker().remove_container(&theirs.id, Some(options)).await.unwrap();
    assert_eq!(run_containers(&next, runtime.run_id()).await, [alive.container_id()], "live runs are kept");
    runtime.shutdown().await.unwrap();
    next.shutdown().await.unwrap();
}

/// Runs `script` as root in a throwaway container of `image` and returns its output and exit code.
async fn run_in_image(runtime: &DockerRuntime, image: &str, script: &str) -> (String, i64) {
    let docker = runtime.docker();
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()]),
        user: Some("root".to_owned()),
        ..ContainerCreateBody::default()
    };
    let created =
        docker.create_container(None::<bollard::query_parameters::CreateContainerOptions>, body).await.unwrap();
    docker.start_container(&created.id, None::<bollard::query_parameters::StartContainerOptions>).await.unwrap();
    let waited: Vec<_> = futures::StreamExt::collect(
        docker.wait_container(&created.id, None::<bollard::query_parameters::WaitContainerOptions>),
    )
    .await;
    let code = waited.into_iter().find_map(|result| result.ok()).map_or(-1, |status| status.status_code);
    let logs: Vec<_> = futures::StreamExt::collect(docker.logs(
        &created.id,
        Some(bollard::query_parameters::LogsOptionsBuilder::default().stdout(true).stderr(true).build()),
    ))
    .await;
    let text: String = logs.into_iter().filter_map(Result::ok).map(|chunk| chunk.to_string()).collect();
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
    docker.remove_container(&created.id, Some(options)).await.unwrap();
    (text, code)
}

#[tokio::test]
async fn a_base_image_made_from_a_registry_python_image_gets_the_debian_layout() {
    let Some(runtime) = image_runtime().await else { return };
    let docker = runtime.docker();
    // A stand-in for `python:3.11-slim` (no registry here): Python, but no git, no `agentless` user, no /work.
    let stand_in = "agentless-test/slim-stand-in:3.11";
    let body = ContainerCreateBody {
        image: Some(PythonVersion::Py311.image()),
        cmd: Some(vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "userdel -r agentless && rm -rf /work && dpkg -r --force-depends git >/dev/null".to_owned(),
        ]),
        user: Some("root".to_owned()),
        ..ContainerCreateBody::default()
    };
    let created =
        docker.create_container(None::<bollard::query_parameters::CreateContainerOptions>, body).await.unwrap();
    docker.start_container(&created.id, None::<bollard::query_parameters::StartContainerOptions>).await.unwrap();
    let _: Vec<_> = futures::StreamExt::collect(
        docker.wait_container(&created.id, None::<bollard::query_parameters::WaitContainerOptions>),
    )
    .await;
    let commit = bollard::query_parameters::CommitContainerOptionsBuilder::default()
        .container(&created.id)
        .repo("agentless-test/slim-stand-in")
        .tag("3.11")
        .build();
    docker.commit_container(commit, bollard::models::ContainerConfig::default()).await.unwrap();
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
    docker.remove_container(&created.id, Some(options)).await.unwrap();
    let check = "command -v git >/dev/null && echo git || echo no-git; id -u agentless 2>&1 | tail -1; \
                 stat -c %u /work 2>&1 | tail -1";
    let (before, _) = run_in_image(&runtime, stand_in, check).await;
    assert_eq!(before.split_whitespace().next(), Some("no-git"), "{before}");

    let target = "agentless-test/python-from-registry:3.11";
    let build = runtime.layer_base_image(PythonVersion::Py311, stand_in, target).await.unwrap();
    assert!(build.source_was_local);
    let (after, code) = run_in_image(&runtime, target, check).await;
    assert_eq!((after.split_whitespace().collect::<Vec<_>>(), code), (vec!["git", "1000", "1000"], 0), "{after}");
    let inspected = docker.inspect_image(target).await.unwrap();
    let labels = inspected.config.and_then(|config| config.labels).unwrap_or_default();
    assert_eq!(labels.get("agentless.kind").map(String::as_str), Some("base"), "{labels:?}");
    assert_eq!(labels.get("agentless.version").map(String::as_str), Some("3.11"), "{labels:?}");

    // An image whose Python is not the one asked for is refused, and nothing is tagged.
    let wrong = runtime.layer_base_image(PythonVersion::Py39, target, "agentless-test/python-wrong:3.9").await;
    let error = wrong.unwrap_err().to_string();
    assert!(error.contains("Python 3.9 (this one has 3.11)"), "{error}");
    // An image the engine cannot pull names the pull.
    let missing = runtime.layer_base_image(PythonVersion::Py311, "agentless-test/no-such-image:0", target).await;
    assert!(missing.unwrap_err().to_string().contains("pulling agentless-test/no-such-image:0"));

    for image in [stand_in, target] {
        let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).build();
        let _ = docker.remove_image(image, Some(options), None).await;
    }
    runtime.shutdown().await.unwrap();
}
