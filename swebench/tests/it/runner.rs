//! The evaluation runner end to end on a SWE-bench-format dataset built from fixture repositories: a tiny Python
//! project with a bug in a temporary git repository, its gold patch, a test patch adding a failing test, and
//! FAIL_TO_PASS / PASS_TO_PASS lists. Gold resolves; empty and wrong do not; a patch that does not apply and a
//! missing clone are recorded as such. Always with the local sandbox; with Docker when an engine is reachable.
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agentless_sandbox::docker::{DockerRuntime, PythonVersion, WorkerLimits, ensure_base_image};
use agentless_swebench::dataset::Dataset;
use agentless_swebench::environment::RepoFiles;
use agentless_swebench::predictions::{PredictionSource, Predictions};
use agentless_swebench::report::{LOG_INSTANCE, LOG_REPORT, LOG_TEST_OUTPUT};
use agentless_swebench::runner::{
    Backend, EnvironmentSource, EvalOptions, InstanceEnvironment, InstanceOutcome, InstanceSetup, LOG_PATCH, RepoStore,
    evaluate,
};
use agentless_swebench::specs::{Packages, RepoVersionSpec};
use agentless_swebench::{DataDir, Instance, SwebenchError};
use agentless_tests::{REQUIRE_DOCKER, git, skip_loudly};

const BUGGY: &str = "def add(a, b):\n    return a - b\n\n\ndef negate(a):\n    return -a\n";
const EXISTING_TESTS: &str = "import unittest\n\nfrom calc import add, negate\n\n\nclass CalcTests(unittest.TestCase):\n    def test_zero(self):\n        self.assertEqual(add(0, 0), 0)\n\n    def test_negate(self):\n        self.assertEqual(negate(2), -2)\n";
const GOLD_PATCH: &str = "diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def negate(a):
";
const WRONG_PATCH: &str = "diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a * b
 
 
 def negate(a):
";
const STALE_PATCH: &str = "diff --git a/calc/__init__.py b/calc/__init__.py
--- a/calc/__init__.py
+++ b/calc/__init__.py
@@ -1,2 +1,2 @@
 def double(a):
-    return a * 2
+    return a << 1
";
const TEST_PATCH: &str = "diff --git a/tests/test_calc.py b/tests/test_calc.py
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -10,3 +10,6 @@ class CalcTests(unittest.TestCase):
 
     def test_negate(self):
         self.assertEqual(negate(2), -2)
+
+    def test_add(self):
+        self.assertEqual(add(2, 3), 5)
";

/// The fixture's own spec: no dependencies (tests never reach PyPI), unittest with Django's verbose format.
struct FixtureSpecs;

impl EnvironmentSource for FixtureSpecs {
    fn environment(&self, _: &Instance, files: &dyn RepoFiles) -> Result<InstanceEnvironment, SwebenchError> {
        assert!(files.read("HEAD", "calc/__init__.py").is_some(), "the clone's files are readable");
        Ok(InstanceEnvironment {
            python: PythonVersion::Py311,
            spec: RepoVersionSpec {
                python: "3.11",
                packages: Packages::Nothing,
                pip_packages: Vec::new(),
                pre_install: Vec::new(),
                install: "python -c 'import calc'",
                test_cmd: "python -m unittest -v",
                eval_commands: Vec::new(),
                execute_test_as_nonroot: false,
                nano_cpus: None,
            },
            dependencies_script: "set -euxo pipefail\npython --version\n".to_owned(),
            // Each checkout is one commit's files, never a mix: the environment commit has LATER.txt and `b - a`,
            // the base commit neither.
            install_script: "set -euxo pipefail\npython -c 'import calc'\n\
                             if [ -e LATER.txt ]; then grep -q 'b - a' calc/__init__.py; \
                             else grep -q 'a - b' calc/__init__.py; fi\n"
                .to_owned(),
            system_packages: Vec::new(),
            notes: vec!["fixture spec".to_owned()],
        })
    }
}

struct Fixture {
    root: tempfile::TempDir,
    out: std::path::PathBuf,
    repos: RepoStore,
    dataset: Dataset,
}

fn row(id: &str, repo: &str, base_commit: &str, environment_commit: &str) -> serde_json::Value {
    serde_json::json!({
        "instance_id": id, "repo": repo, "base_commit": base_commit, "patch": GOLD_PATCH, "test_patch": TEST_PATCH,
        "problem_statement": "add subtracts", "version": "0.1", "environment_setup_commit": environment_commit,
        "FAIL_TO_PASS": "[\"test_add (tests.test_calc.CalcTests.test_add)\"]",
        "PASS_TO_PASS": ["test_zero (tests.test_calc.CalcTests.test_zero)", "test_negate (tests.test_calc.CalcTests.test_negate)"],
        "log_parser": "parse_log_django",
    })
}

/// `repos/fixture__calc` (bare clone) and `repos/fixture__calc-worktree` (a work tree), four instances.
fn fixture() -> Fixture {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("repos/fixture__calc-worktree");
    fs_err::create_dir_all(work.join("calc")).unwrap();
    fs_err::create_dir_all(work.join("tests")).unwrap();
    fs_err::write(work.join("calc/__init__.py"), BUGGY).unwrap();
    fs_err::write(work.join("tests/__init__.py"), "").unwrap();
    fs_err::write(work.join("tests/test_calc.py"), EXISTING_TESTS).unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "calc"]);
    let base_commit = git(&work, &["rev-parse", "HEAD"]);
    // A later commit, the environment-setup commit, that must not leak into the checkout: a new file, and the
    // buggy line changed to another of the same size (an image layer that compared sizes and times would keep it).
    fs_err::write(work.join("LATER.txt"), "later").unwrap();
    fs_err::write(work.join("calc/__init__.py"), BUGGY.replace("return a - b", "return b - a")).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "later"]);
    let environment_commit = git(&work, &["rev-parse", "HEAD"]);
    git(root.path(), &["clone", "-q", "--bare", "repos/fixture__calc-worktree", "repos/fixture__calc"]);
    let rows = [
        row("fixture__calc-1", "fixture/calc", &base_commit, &environment_commit),
        row("fixture__calc-worktree-1", "fixture/calc-worktree", &base_commit, &base_commit),
        row("fixture__absent-1", "fixture/absent", &base_commit, &base_commit),
        row("fixture__calc-2", "fixture/calc", "0123456789abcdef0123456789abcdef01234567", &base_commit),
    ];
    let dataset_path = root.path().join("fixture.jsonl");
    let text: Vec<String> = rows.iter().map(|row| row.to_string()).collect();
    fs_err::write(&dataset_path, text.join("\n") + "\n").unwrap();
    let dataset = Dataset::load(dataset_path.to_str().unwrap(), &DataDir::new(root.path())).unwrap();
    Fixture { out: root.path().join("out"), repos: RepoStore::new(root.path().join("repos")), dataset, root }
}

fn options(fixture: &Fixture, run_id: &str, run_empty_patches: bool) -> EvalOptions {
    EvalOptions {
        out: fixture.out.clone(),
        run_id: run_id.to_owned(),
        workers: 2,
        timeout: Duration::from_secs(300),
        run_empty_patches,
    }
}

fn outcome<'a>(run: &'a agentless_swebench::runner::EvalRun, id: &str) -> &'a InstanceOutcome {
    &run.outcomes.iter().find(|(found, _, _)| found == id).unwrap().1
}

async fn gold_empty_wrong_stale(backend: Backend) {
    let fixture = fixture();
    let backend = Arc::new(backend);
    let instances = &fixture.dataset.instances;
    let two = &instances[..2];

    // Gold: resolved, in a bare clone and in a work tree.
    let gold = Predictions::load(&PredictionSource::Gold, instances).unwrap();
    let run = evaluate(
        &fixture.dataset,
        two,
        &gold,
        &fixture.repos,
        Arc::clone(&backend),
        Arc::new(FixtureSpecs),
        &options(&fixture, "gold-run", false),
        &|_, _, _| {},
    )
    .await
    .unwrap();
    for (id, outcome, _) in &run.outcomes {
        let InstanceOutcome::Graded(report) = outcome else { panic!("{id}: {outcome:?}") };
        assert!(report.resolved, "{id}: {report:?}");
        assert!(report.patch_successfully_applied);
    }
    assert_eq!(run.summary.resolved_ids, vec!["fixture__calc-1", "fixture__calc-worktree-1"]);
    let folder = fixture.out.join("gold-run/gold/fixture__calc-1");
    let test_output = fs_err::read_to_string(folder.join(LOG_TEST_OUTPUT)).unwrap();
    assert!(test_output.contains("test_add (tests.test_calc.CalcTests.test_add) ... ok"), "{test_output}");
    assert!(!test_output.contains("LATER.txt"), "later commits stay out of the checkout");
    assert!(!test_output.contains("+def add(a, b):"), "the snapshot commit's patch stays out of the log");
    assert_eq!(fs_err::read_to_string(folder.join(LOG_PATCH)).unwrap(), GOLD_PATCH);
    let report: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(folder.join(LOG_REPORT)).unwrap()).unwrap();
    assert_eq!(
        report["fixture__calc-1"]["tests_status"]["FAIL_TO_PASS"]["success"][0],
        "test_add (tests.test_calc.CalcTests.test_add)"
    );
    assert!(fixture.out.join("gold.gold-run.json").is_file());
    assert!(run.table.contains("fixture/calc "), "{}", run.table);

    // Empty, run on purpose: the FAIL_TO_PASS test fails, the PASS_TO_PASS tests pass.
    let empty = Predictions::load(&PredictionSource::Empty, instances).unwrap();
    let run = evaluate(
        &fixture.dataset,
        &instances[..1],
        &empty,
        &fixture.repos,
        Arc::clone(&backend),
        Arc::new(FixtureSpecs),
        &options(&fixture, "empty-run", true),
        &|_, _, _| {},
    )
    .await
    .unwrap();
    let InstanceOutcome::Graded(report) = outcome(&run, "fixture__calc-1") else { panic!("{:?}", run.outcomes) };
    assert!(!report.resolved);
    let status = report.tests_status.as_ref().unwrap();
    assert_eq!(status.fail_to_pass.failure, vec!["test_add (tests.test_calc.CalcTests.test_add)"]);
    assert_eq!(status.pass_to_pass.success.len(), 2);
    assert_eq!(run.summary.empty_patch_ids, vec!["fixture__calc-1"]);
    assert_eq!(run.summary.resolved_instances, 0);

    // Wrong, stale (does not apply), missing clone, missing commit.
    let predictions_path = fixture.out.join("mixed.jsonl");
    let line = |id: &str, patch: &str| {
        serde_json::json!({"instance_id": id, "model_name_or_path": "org/model", "model_patch": patch}).to_string()
    };
    let lines = [
        line("fixture__calc-1", WRONG_PATCH),
        line("fixture__calc-worktree-1", STALE_PATCH),
        line("fixture__absent-1", GOLD_PATCH),
        line("fixture__calc-2", GOLD_PATCH),
    ];
    fs_err::write(&predictions_path, lines.join("\n")).unwrap();
    let heard = std::sync::Mutex::new(Vec::new());
    let mixed = Predictions::load(&PredictionSource::File(&predictions_path), instances).unwrap();
    let run = evaluate(
        &fixture.dataset,
        instances,
        &mixed,
        &fixture.repos,
        Arc::clone(&backend),
        Arc::new(FixtureSpecs),
        &options(&fixture, "mixed-run", false),
        &|id, outcome, _| heard.lock().unwrap().push(format!("{id}: {}", outcome.verdict())),
    )
    .await
    .unwrap();
    let InstanceOutcome::Graded(wrong) = outcome(&run, "fixture__calc-1") else { panic!("{:?}", run.outcomes) };
    assert!(!wrong.resolved && wrong.patch_successfully_applied, "{wrong:?}");
    assert_eq!(outcome(&run, "fixture__calc-worktree-1"), &InstanceOutcome::PatchApplyFailed);
    let stale_log =
        fs_err::read_to_string(fixture.out.join("mixed-run/org__model/fixture__calc-worktree-1").join(LOG_INSTANCE))
            .unwrap();
    assert!(stale_log.contains(">>>>> Patch Apply Failed"), "{stale_log}");
    assert!(stale_log.contains("patch --batch --fuzz=5 -p1 -i"), "every attempt is logged: {stale_log}");
    let InstanceOutcome::Error(absent) = outcome(&run, "fixture__absent-1") else { panic!("{:?}", run.outcomes) };
    assert!(absent.contains("git clone https://github.com/fixture/absent.git") && absent.contains("fixture__absent"));
    let InstanceOutcome::Error(no_commit) = outcome(&run, "fixture__calc-2") else { panic!("{:?}", run.outcomes) };
    assert!(no_commit.contains("commit 0123456789abcdef"), "{no_commit}");
    assert_eq!(run.summary.unresolved_ids, vec!["fixture__calc-1"]);
    assert_eq!(run.summary.error_ids, vec!["fixture__absent-1", "fixture__calc-2", "fixture__calc-worktree-1"]);
    assert!(fixture.out.join("org__model.mixed-run.json").is_file());
    let mut heard = heard.into_inner().unwrap();
    heard.sort();
    assert_eq!(heard.len(), 4, "{heard:?}");
    assert_eq!(heard[1], "fixture__calc-1: unresolved");
    assert_eq!(heard[3], "fixture__calc-worktree-1: patch did not apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_dataset_in_local_sandboxes() {
    gold_empty_wrong_stale(Backend::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_dataset_in_docker() {
    let skip = |why: String| skip_loudly("fixture_dataset_in_docker", &why, REQUIRE_DOCKER);
    let runtime = match DockerRuntime::connect(DockerRuntime::new_run_id()).await {
        Ok(runtime) => runtime,
        Err(error) => return skip(format!("no Docker engine is reachable: {error}")),
    };
    // A fresh machine has no base image yet: build it (debootstrap, about two minutes) as the other Docker tests do.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("agentless-rootfs");
    if let Err(error) = ensure_base_image(runtime.docker(), PythonVersion::Py311, &cache).await {
        return skip(format!("{} cannot be built: {error}", PythonVersion::Py311.image()));
    }
    let backend = Backend::docker(runtime, WorkerLimits::default(), None);
    gold_empty_wrong_stale(backend).await;
}

/// A mirror may hold a commit without all of its files (its largest blobs left out): an environment-setup commit
/// that cannot be checked out falls back to the base commit, and the log says so.
#[test]
fn environment_commit_with_a_missing_blob_falls_back_to_the_base_commit() {
    let fixture = fixture();
    // The work-tree clone loses the blob of LATER.txt, which only the environment-setup commit has.
    let work = fixture.root.path().join("repos/fixture__calc-worktree");
    let blob = git(&work, &["rev-parse", "HEAD:LATER.txt"]);
    fs_err::remove_file(work.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    let [with_environment_commit, in_the_work_tree, ..] = &fixture.dataset.instances[..] else { unreachable!() };
    let instance = Instance {
        environment_setup_commit: with_environment_commit.environment_setup_commit.clone(),
        ..in_the_work_tree.clone()
    };

    let setup = InstanceSetup::read(&fixture.repos, &FixtureSpecs, &instance).unwrap();
    assert!(setup.log.contains("environment_setup_commit cannot be checked out of the clone"), "{}", setup.log);
    assert_eq!(setup.environment_files, setup.files);
    assert!(setup.files.files().iter().all(|file| !file.path.ends_with("LATER.txt")));
}

/// `infer --sandbox local` takes the setup as one script without reading checkouts; it is the script a local
/// sandbox built from the recipe runs.
#[test]
fn single_step_script_is_the_recipes_setup() {
    let fixture = fixture();
    let instance = &fixture.dataset.instances[0];
    let script = InstanceSetup::single_step_script(&fixture.repos, &FixtureSpecs, instance).unwrap();
    let setup = InstanceSetup::read(&fixture.repos, &FixtureSpecs, instance).unwrap();
    assert_eq!(script, setup.recipe().single_step_setup());
    assert!(script.contains("python -c 'import calc'"), "{script}");
}
