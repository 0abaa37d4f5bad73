//! `agentless run --setup auto` on the small projects of each shape CI keeps in `tests/fixtures/shapes/` — a
//! setuptools-scm project, a PEP 735 dependency-groups project, a tox project, a project whose tests fail to collect —
//! answered by each fixture's script, in the local sandbox and in Docker. Setup installs from PyPI; tests run offline.

use std::path::{Path, PathBuf};
use std::process::Output;

use agentless_tests::{Script, ScriptedModelServer, docker_available, git, workspace_root};

use crate::action::copy_tree;
use crate::{agentless, build_base_image, stderr, stdout};

/// The tag the setuptools-scm fixture's repository gets; its version test expects it.
const SCM_TAG: &str = "v1.4.0";

fn fixture(shape: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/shapes").join(shape)
}

/// The fixture's project copied to `home/<shape>`, made a git repository tagged [`SCM_TAG`] when `tagged`.
fn project(home: &Path, shape: &str, tagged: bool) -> PathBuf {
    let repo = home.join(shape);
    fs_err::create_dir_all(&repo).unwrap();
    copy_tree(&fixture(shape).join("project"), &repo);
    if tagged {
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", shape]);
        git(&repo, &["tag", SCM_TAG]);
    }
    repo
}

/// A finished run: the binary's output and its run directory.
struct Run {
    output: Output,
    out: PathBuf,
}

impl Run {
    fn report(&self) -> serde_json::Value {
        serde_json::from_str(&fs_err::read_to_string(self.out.join("report.json")).unwrap()).unwrap()
    }

    fn log(&self, name: &str) -> String {
        fs_err::read_to_string(self.out.join("logs").join(name)).unwrap()
    }

    /// The run succeeded with setup, chose `fix` and had regression tests from a healthy baseline.
    fn assert_fixed_with_regression_tests(&self, fix: &str) {
        let err = stderr(&self.output);
        assert_eq!(self.output.status.code(), Some(0), "{err}");
        assert!(stdout(&self.output).contains(fix), "{}\n{err}", stdout(&self.output));
        let report = self.report();
        assert!(report["degradations"].as_array().unwrap().is_empty(), "{report:#}\n{}", self.log("setup.log"));
        let strength = &report["validation_strength"];
        assert!(strength["baseline"]["problem"].is_null(), "{strength}\n{}", self.log("baseline.log"));
        assert!(strength["regression_tests_run"].as_u64().is_some_and(|run| run > 0), "{strength}");
        assert_eq!(report["rule"], "regression_and_reproduction", "{report:#}");
    }
}

/// `agentless run` on `repo` with the issue and the script of `shape`, set up by `--setup auto` in `sandbox`, with
/// one sandbox and few samples (every candidate of a fixture is its fix).
async fn run_shape(home: &Path, repo: &Path, shape: &str, sandbox: &str) -> Run {
    let script = Script::load(&fixture(shape).join("script.json")).unwrap();
    let server = ScriptedModelServer::start(script).await;
    let out = home.join(format!("run-{shape}-{sandbox}"));
    let (home, repo, out_dir, sandbox, shape, base_url) =
        (home.to_owned(), repo.to_owned(), out.clone(), sandbox.to_owned(), shape.to_owned(), server.base_url());
    let output = tokio::task::spawn_blocking(move || {
        let issue = fixture(&shape).join("issue.md");
        let args = [
            ["run", "--repo", repo.to_str().unwrap(), "--issue", issue.to_str().unwrap()].as_slice(),
            &["--out", out_dir.to_str().unwrap(), "--model", "openai-compatible:scripted"],
            &["--base-url", &base_url, "--no-cache", "--sandbox", &sandbox, "--setup", "auto", "--workers", "1"],
            &["--edit-samples", "1", "--samples", "2", "--reproduction-tests", "1"],
        ]
        .concat();
        agentless(&home, &args, &[])
    })
    .await
    .unwrap();
    Run { output, out }
}

const SCM_FIX: &str = "+    return \"-\".join(word.lower() for word in words if word)";
const GROUPS_FIX: &str = "+    return (fahrenheit - 32) * 5 / 9";
const TOX_FIX: &str = "+    (4, \"IV\"),";
const COLLECT_FIX: &str = "+_UNITS = {\"B\": 1, \"KB\": 1000, \"MB\": 1000**2, \"KIB\": 1024, \"MIB\": 1024**2}";
const SCM_VERSION_TEST: &str = "tests/test_version.py::test_the_version_is_the_tag";

/// setuptools-scm: the sandbox's copy is a repository of one untagged commit, so the host's tag is passed on.
async fn setuptools_scm(home: &Path, sandbox: &str) {
    let repo = project(home, "scm", true);
    let run = run_shape(home, &repo, "scm", sandbox).await;
    run.assert_fixed_with_regression_tests(SCM_FIX);
    let baseline = run.log("baseline.log");
    assert!(baseline.contains(&format!("PASSED {SCM_VERSION_TEST}")), "{baseline}");
    assert!(run.log("setup.log").contains("SETUPTOOLS_SCM_PRETEND_VERSION=1.4.0"), "{}", run.log("setup.log"));
}

/// setuptools-scm given a plain folder: setup still succeeds, on the fallback version.
async fn setuptools_scm_without_history(home: &Path, sandbox: &str) {
    let repo = project(home, "scm", false);
    let run = run_shape(home, &repo, "scm", sandbox).await;
    run.assert_fixed_with_regression_tests(SCM_FIX);
    let baseline = run.log("baseline.log");
    assert!(baseline.contains(&format!("FAILED {SCM_VERSION_TEST}")), "{baseline}");
    assert!(baseline.contains("'0.0.0' == '1.4.0'"), "{baseline}");
}

/// PEP 735: the test group and the group it includes are installed (a test module imports `parameterized`).
async fn dependency_groups(home: &Path, sandbox: &str) {
    let repo = project(home, "groups", false);
    let run = run_shape(home, &repo, "groups", sandbox).await;
    run.assert_fixed_with_regression_tests(GROUPS_FIX);
    let baseline = run.log("baseline.log");
    assert!(
        baseline.contains("PASSED tests/test_temperature.py::ToFahrenheit::test_known_points_0_freezing"),
        "{baseline}"
    );
}

/// tox: `[testenv] deps` are installed (a test module imports `hamcrest`).
async fn tox(home: &Path, sandbox: &str) {
    let repo = project(home, "tox", false);
    let run = run_shape(home, &repo, "tox", sandbox).await;
    run.assert_fixed_with_regression_tests(TOX_FIX);
    let baseline = run.log("baseline.log");
    assert!(baseline.contains("PASSED tests/test_roman.py::test_nine_is_a_subtractive_pair"), "{baseline}");
}

/// Tests that fail to collect: no regression test, said with the cause and the log, and the reproduction test
/// chooses.
async fn collection_failure(home: &Path, sandbox: &str) {
    let repo = project(home, "collect", false);
    let run = run_shape(home, &repo, "collect", sandbox).await;
    let err = stderr(&run.output);
    assert_eq!(run.output.status.code(), Some(0), "{err}");
    assert!(stdout(&run.output).contains(COLLECT_FIX), "{}\n{err}", stdout(&run.output));
    let cause = "the original's tests failed to collect: tests/test_sizes.py: ModuleNotFoundError: No module named \
                 'collectshape.testing'";
    let log = run.out.join("logs/baseline.log");
    assert!(err.contains(cause) && err.contains(&log.display().to_string()), "{err}");
    let markdown = fs_err::read_to_string(run.out.join("report.md")).unwrap();
    assert!(markdown.contains(&format!("**Baseline:** {cause} (exit 2")), "{markdown}");
    assert!(markdown.contains("[baseline.log](logs/baseline.log)"), "{markdown}");
    let report = run.report();
    let strength = &report["validation_strength"];
    assert_eq!(strength["regression_tests_run"], 0, "{strength}");
    assert_eq!(strength["reproduction_tests_kept"], 1, "{strength}");
    assert_eq!(strength["baseline"]["problem"]["kind"], "collection_errors", "{strength}");
    let reason = report["selection_reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!("regression tests unavailable: {cause} (exit 2; logs/baseline.log); the reproduction test passes")
    );
    assert!(run.log("baseline.log").contains("ERROR collecting tests/test_sizes.py"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setuptools_scm_project_gets_its_tag_in_the_local_sandbox() {
    let home = tempfile::tempdir().unwrap();
    setuptools_scm(home.path(), "local").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_setuptools_scm_project_without_history_installs_in_the_local_sandbox() {
    let home = tempfile::tempdir().unwrap();
    setuptools_scm_without_history(home.path(), "local").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dependency_groups_are_installed_in_the_local_sandbox() {
    let home = tempfile::tempdir().unwrap();
    dependency_groups(home.path(), "local").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tox_deps_are_installed_in_the_local_sandbox() {
    let home = tempfile::tempdir().unwrap();
    tox(home.path(), "local").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tests_that_fail_to_collect_are_named_in_the_local_sandbox() {
    let home = tempfile::tempdir().unwrap();
    collection_failure(home.path(), "local").await;
}

/// Every shape in Docker, one after the other (each builds its project image; the base image is shared).
#[tokio::test(flavor = "multi_thread")]
async fn every_project_shape_in_docker() {
    if !docker_available("the Docker project-shapes test") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    build_base_image(home.path());
    setuptools_scm(home.path(), "docker").await;
    setuptools_scm_without_history(&home.path().join("plain"), "docker").await;
    dependency_groups(home.path(), "docker").await;
    tox(home.path(), "docker").await;
    collection_failure(home.path(), "docker").await;
}
