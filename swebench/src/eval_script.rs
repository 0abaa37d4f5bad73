//! The per-instance `eval.sh` (upstream's `make_eval_script_list_py` with conda activation replaced by a
//! virtualenv's), its test directives, the log markers, and the order in which the runner applies the model patch.

use std::sync::LazyLock;

use regex::Regex;

use crate::dataset::Instance;
use crate::specs::RepoVersionSpec;

pub const APPLY_PATCH_FAIL: &str = ">>>>> Patch Apply Failed";
pub const APPLY_PATCH_PASS: &str = ">>>>> Applied Patch";
pub const RESET_FAILED: &str = ">>>>> Reset Failed";
pub const TESTS_ERROR: &str = ">>>>> Tests Errored";
pub const TESTS_TIMEOUT: &str = ">>>>> Tests Timed Out";
pub const START_TEST_OUTPUT: &str = ">>>>> Start Test Output";
pub const END_TEST_OUTPUT: &str = ">>>>> End Test Output";
/// SWE-bench 5.x records the test command's own exit status after the end marker.
pub const TEST_EXIT_CODE: &str = ">>>>> Test Exit Code";
pub const TEST_EXIT_CODE_VAR: &str = "SWEBENCH_TEST_EXIT_CODE";

/// The upstream default test timeout, in seconds.
pub const DEFAULT_TEST_TIMEOUT_SECS: u64 = 1_800;
/// Where upstream copies the model patch before applying it.
pub const CONTAINER_PATCH_FILE: &str = "/tmp/patch.diff";

const HEREDOC_DELIMITER: &str = "EOF_114329324912";
/// `NON_TEST_EXTS` (`csv` has no dot upstream, so `foo_csv` matches too).
const NON_TEST_EXTENSIONS: [&str; 11] =
    [".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml"];

static GIT_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^diff --git (a/[^\t\n]+) (b/[^\t\n]+)")
        .unwrap_or_else(|error| unreachable!("invalid built-in regex: {error}"))
});
static DIFF_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"diff --git a/.* b/(.*)").unwrap_or_else(|error| unreachable!("invalid built-in regex: {error}"))
});

/// What the test command is given: the `b/` paths of the test patch's `diff --git` headers, as
/// [`test_directives_for`] turns them into directives.
pub fn test_directives(instance: &Instance) -> Vec<String> {
    let files = DIFF_HEADER.captures_iter(&instance.test_patch).map(|captures| captures[1].to_owned());
    test_directives_for(&instance.repo, files)
}

/// The test directives of `files` in `repo`: the files minus non-test files; for Django, module labels (`tests/`
/// and `.py` dropped, `/` → `.`).
pub fn test_directives_for(repo: &str, files: impl IntoIterator<Item = String>) -> Vec<String> {
    let files = files.into_iter().filter(|path| !NON_TEST_EXTENSIONS.iter().any(|extension| path.ends_with(extension)));
    if repo != "django/django" {
        return files.collect();
    }
    files
        .map(|path| {
            let path = path.strip_suffix(".py").unwrap_or(&path);
            let path = path.strip_prefix("tests/").unwrap_or(path);
            path.replace('/', ".")
        })
        .collect()
}

/// The files a patch changes that exist before it (upstream's `get_modified_files`, via unidiff: each file's source
/// path from its `diff --git a/… b/…` header, overridden by a `--- ` line, skipping `/dev/null`), in patch order.
pub fn modified_files(patch: &str) -> Vec<String> {
    let mut files = Vec::new();
    let mut source: Option<String> = None;
    let mut in_header = false;
    let mut flush = |source: &mut Option<String>| {
        if let Some(path) = source.take().as_deref().and_then(|path| path.strip_prefix("a/")) {
            files.push(path.to_owned());
        }
    };
    for line in patch.lines() {
        if let Some(captures) = GIT_HEADER.captures(line) {
            flush(&mut source);
            source = Some(captures[1].to_owned());
            in_header = true;
        } else if line.starts_with("@@") {
            in_header = false;
        } else if in_header && let Some(path) = line.strip_prefix("--- ") {
            source = Some(path.split('\t').next().unwrap_or_default().trim_end().to_owned());
        }
    }
    flush(&mut source);
    files
}

/// Where the checkout is and how the environment is made current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalScriptOptions {
    /// The checkout (`/testbed` upstream).
    pub repo_dir: String,
    /// Replaces upstream's `source /opt/miniconda3/bin/activate` + `conda activate testbed`.
    pub activate: String,
    /// Record the test command's exit status after the end marker (SWE-bench 5.x; its grader uses it).
    pub record_exit_code: bool,
    /// HEAD is a one-commit snapshot of the whole tree rather than the real base commit: `git show` prints only
    /// its header (the patch would be every file of the repository, flooding the log the parser reads).
    pub head_is_snapshot: bool,
}

impl Default for EvalScriptOptions {
    fn default() -> Self {
        Self {
            repo_dir: "/testbed".to_owned(),
            activate: "source /opt/venv/bin/activate".to_owned(),
            record_exit_code: true,
            head_is_snapshot: false,
        }
    }
}

/// The eval script lines, in upstream's order (see `shared/research/swebench.md` §4); for psf/requests the loopback
/// stand-ins for the network start before the test command and stop after it ([`crate::loopback`]).
pub fn eval_script_lines(instance: &Instance, spec: &RepoVersionSpec, options: &EvalScriptOptions) -> Vec<String> {
    let repo_dir = &options.repo_dir;
    let base_commit = &instance.base_commit;
    let reset_tests = format!("git checkout {base_commit} {}", modified_files(&instance.test_patch).join(" "));
    let test_command =
        [crate::environment::test_command(spec)].into_iter().chain(test_directives(instance)).collect::<Vec<_>>();
    let mut lines = vec![options.activate.clone(), format!("cd {repo_dir}")];
    lines.extend(spec.eval_commands.iter().map(|line| (*line).to_owned()));
    lines.extend([
        format!("git config --global --add safe.directory {repo_dir}"),
        format!("cd {repo_dir}"),
        "git status".to_owned(),
        if options.head_is_snapshot { "git show --no-patch" } else { "git show" }.to_owned(),
        format!("git -c core.fileMode=false diff {base_commit}"),
        options.activate.clone(),
        spec.install.to_owned(),
        reset_tests.clone(),
        format!("git apply -v - <<'{HEREDOC_DELIMITER}'\n{}\n{HEREDOC_DELIMITER}", instance.test_patch),
    ]);
    let loopback = crate::loopback::applies(&instance.repo);
    if loopback {
        lines.extend(crate::loopback::start_lines());
    }
    lines.extend([format!(": '{START_TEST_OUTPUT}'"), test_command.join(" ")]);
    if options.record_exit_code {
        lines.push(format!("{TEST_EXIT_CODE_VAR}=$?"));
    }
    lines.push(format!(": '{END_TEST_OUTPUT}'"));
    if options.record_exit_code {
        lines.push(format!("echo \"{TEST_EXIT_CODE}: ${TEST_EXIT_CODE_VAR}\""));
    }
    if loopback {
        lines.extend(crate::loopback::stop_lines());
    }
    lines.push(reset_tests);
    lines
}

/// `eval.sh`: `set -uxo pipefail` (no `-e`: the test files must be reset even when tests fail).
pub fn eval_script(instance: &Instance, spec: &RepoVersionSpec, options: &EvalScriptOptions) -> String {
    let mut script = String::from("#!/bin/bash\nset -uxo pipefail\n");
    script.push_str(&eval_script_lines(instance, spec, options).join("\n"));
    script.push('\n');
    script
}

/// How the runner applies the model patch (written to [`Self::patch_path`]): try each command in turn until one
/// exits 0; if none does, log [`APPLY_PATCH_FAIL`] and stop (the instance is an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchApplyPlan {
    pub patch_path: String,
    /// argv of each attempt, the patch path last.
    pub attempts: Vec<Vec<String>>,
    /// Run before every attempt but the first (a failed `--reject` leaves partial state).
    pub reset_between_attempts: Option<Vec<String>>,
    /// If every attempt failed but this succeeds, the patch is already applied and counts as applied.
    pub already_applied_check: Option<Vec<String>>,
}

impl PatchApplyPlan {
    /// SWE-bench 4.x: `git apply --verbose`, `git apply --verbose --reject`, `patch --batch --fuzz=5 -p1 -i`.
    pub fn swebench(patch_path: &str) -> Self {
        let attempts = [
            &["git", "apply", "--verbose"][..],
            &["git", "apply", "--verbose", "--reject"],
            &["patch", "--batch", "--fuzz=5", "-p1", "-i"],
        ];
        Self {
            patch_path: patch_path.to_owned(),
            attempts: attempts.iter().map(|argv| with_path(argv, patch_path)).collect(),
            reset_between_attempts: None,
            already_applied_check: None,
        }
    }

    /// SWE-bench 5.x: adds `--3way` and `patch --forward`, resets the tree between attempts and accepts a patch
    /// that `git apply --check --reverse` says is already applied.
    pub fn swebench_v5(patch_path: &str) -> Self {
        let attempts = [
            &["git", "apply", "--verbose"][..],
            &["git", "apply", "--verbose", "--3way"],
            &["git", "apply", "--verbose", "--reject"],
            &["patch", "--batch", "--forward", "--fuzz=5", "-p1", "-i"],
        ];
        Self {
            patch_path: patch_path.to_owned(),
            attempts: attempts.iter().map(|argv| with_path(argv, patch_path)).collect(),
            reset_between_attempts: Some(with_path(&["/bin/bash", "-c"], "git checkout -- . ; git clean -fd")),
            already_applied_check: Some(with_path(&["git", "apply", "--check", "--reverse"], patch_path)),
        }
    }
}

fn with_path(argv: &[&str], last: &str) -> Vec<String> {
    argv.iter().map(|arg| (*arg).to_owned()).chain([last.to_owned()]).collect()
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    const TEST_PATCH: &str = "\
diff --git a/tests/auth_tests/test_validators.py b/tests/auth_tests/test_validators.py
--- a/tests/auth_tests/test_validators.py
+++ b/tests/auth_tests/test_validators.py
@@ -1,3 +1,4 @@
--- not a header
 import os
+import re
diff --git a/tests/auth_tests/fixtures/data.json b/tests/auth_tests/fixtures/data.json
new file mode 100644
--- /dev/null
+++ b/tests/auth_tests/fixtures/data.json
@@ -0,0 +1 @@
+{}
diff --git a/tests/forms_tests/widget_tests/test_new.py b/tests/forms_tests/widget_tests/test_new.py
new file mode 100644
--- /dev/null
+++ b/tests/forms_tests/widget_tests/test_new.py
@@ -0,0 +1 @@
+x = 1
";

    fn instance(repo: &str) -> Instance {
        Instance {
            instance_id: "django__django-11099".to_owned(),
            repo: repo.to_owned(),
            base_commit: "d26b2424437dabeeca94d7900b37d2df4410da0c".to_owned(),
            patch: String::new(),
            test_patch: TEST_PATCH.to_owned(),
            problem_statement: String::new(),
            hints_text: String::new(),
            created_at: String::new(),
            version: "3.0".to_owned(),
            fail_to_pass: Vec::new(),
            pass_to_pass: Vec::new(),
            environment_setup_commit: String::new(),
            log_parser: None,
        }
    }

    #[test]
    fn directives_for_django_and_others() {
        assert_eq!(
            test_directives(&instance("django/django")),
            vec!["auth_tests.test_validators", "forms_tests.widget_tests.test_new"]
        );
        assert_eq!(
            test_directives(&instance("psf/requests")),
            vec!["tests/auth_tests/test_validators.py", "tests/forms_tests/widget_tests/test_new.py"]
        );
    }

    #[test]
    fn modified_files_skip_new_files_and_hunk_lines() {
        assert_eq!(modified_files(TEST_PATCH), vec!["tests/auth_tests/test_validators.py"]);
        let binary = "diff --git a/tests/baseline.png b/tests/baseline.png\nindex 1..2 100644\nBinary files differ\n\
                      diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n";
        assert_eq!(modified_files(binary), vec!["tests/baseline.png", "gone.py"]);
    }

    #[test]
    fn django_eval_script() {
        let instance = instance("django/django");
        let spec = crate::specs::spec("django/django", "3.0").unwrap();
        insta::assert_snapshot!(eval_script(&instance, &spec, &EvalScriptOptions::default()));
    }

    #[test]
    fn requests_eval_script_starts_httpbin_on_loopback() {
        let instance = Instance {
            instance_id: "psf__requests-2317".to_owned(),
            base_commit: "091991be0da19de9108dbe5e3752917fea3d7fdc".to_owned(),
            version: "2.4".to_owned(),
            test_patch: TEST_PATCH.replace("tests/auth_tests/test_validators.py", "test_requests.py"),
            ..instance("psf/requests")
        };
        let spec = crate::specs::spec("psf/requests", "2.4").unwrap();
        let script = eval_script(&instance, &spec, &EvalScriptOptions::default());
        let position = |needle: &str| script.find(needle).unwrap_or_else(|| panic!("no {needle} in {script}"));
        assert!(position("httpbin:app") < position(START_TEST_OUTPUT));
        assert!(position("export HTTPBIN_URL=") < position(START_TEST_OUTPUT));
        assert!(position(crate::loopback::LOG_MARKER) > position(END_TEST_OUTPUT));
        insta::assert_snapshot!(script);
        let django = eval_script(
            &self::instance("django/django"),
            &crate::specs::spec("django/django", "3.0").unwrap(),
            &EvalScriptOptions::default(),
        );
        assert!(!django.contains("httpbin"));
    }

    #[test]
    fn patch_plans() {
        let plan = PatchApplyPlan::swebench(CONTAINER_PATCH_FILE);
        let commands: Vec<String> = plan.attempts.iter().map(|argv| argv.join(" ")).collect();
        assert_eq!(
            commands,
            vec![
                "git apply --verbose /tmp/patch.diff",
                "git apply --verbose --reject /tmp/patch.diff",
                "patch --batch --fuzz=5 -p1 -i /tmp/patch.diff",
            ]
        );
        let v5 = PatchApplyPlan::swebench_v5(CONTAINER_PATCH_FILE);
        assert_eq!(v5.attempts.len(), 4);
        assert_eq!(v5.already_applied_check.unwrap().join(" "), "git apply --check --reverse /tmp/patch.diff");
    }
}
