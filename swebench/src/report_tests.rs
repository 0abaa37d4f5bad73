use pretty_assertions::assert_eq;

use super::*;

fn instance(id: &str, repo: &str, f2p: &[&str], p2p: &[&str]) -> Instance {
    Instance {
        instance_id: id.to_owned(),
        repo: repo.to_owned(),
        base_commit: "abc".to_owned(),
        patch: "diff --git a/x b/x".to_owned(),
        test_patch: String::new(),
        problem_statement: String::new(),
        hints_text: String::new(),
        created_at: String::new(),
        version: "3.0".to_owned(),
        fail_to_pass: f2p.iter().map(|test| (*test).to_owned()).collect(),
        pass_to_pass: p2p.iter().map(|test| (*test).to_owned()).collect(),
        environment_setup_commit: "def".to_owned(),
        log_parser: None,
    }
}

fn prediction(id: &str, patch: Option<&str>) -> Prediction {
    Prediction {
        instance_id: id.to_owned(),
        model_name_or_path: "org/model".to_owned(),
        model_patch: patch.map(str::to_owned),
    }
}

const DJANGO_OUTPUT: &str = "\
+ : '>>>>> Start Test Output'
+ ./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 utils_tests.test_text
test_slugify (utils_tests.test_text.TestUtilsText)
Slugify converts « café » to ASCII. ... ok
test_wrap (utils_tests.test_text.TestUtilsText) ... FAIL
test_kept (utils_tests.test_text.TestUtilsText) ... ok
+ SWEBENCH_TEST_EXIT_CODE=1
+ : '>>>>> End Test Output'
>>>>> Test Exit Code: 1
";

#[test]
fn graded_report_json_matches_swebench_shape() {
    let instance = instance(
        "django__django-1",
        "django/django",
        &["Slugify converts « café » to ASCII.", "test_wrap (utils_tests.test_text.TestUtilsText)"],
        &["test_kept (utils_tests.test_text.TestUtilsText)"],
    );
    let report = InstanceReport::grade(
        &instance,
        &prediction("django__django-1", Some("diff")),
        DJANGO_OUTPUT,
        LogParser::Django,
        EvalType::PassAndFail,
    );
    assert!(!report.resolved);
    assert_eq!(report.resolution(), Some(ResolvedStatus::Partial));
    insta::assert_snapshot!(report.to_json("django__django-1").unwrap());
}

#[test]
fn none_patch_and_failed_runs() {
    let instance = instance("a", "psf/requests", &["t.py::a"], &[]);
    let none = InstanceReport::grade(&instance, &prediction("a", None), "", LogParser::Pytest, EvalType::PassAndFail);
    assert!(none.patch_is_none && !none.patch_exists && none.tests_status.is_none());
    let killed = "+ : '>>>>> Start Test Output'\nKilled\n";
    let report =
        InstanceReport::grade(&instance, &prediction("a", Some("d")), killed, LogParser::Pytest, EvalType::PassAndFail);
    assert!(report.patch_exists && !report.patch_successfully_applied && !report.resolved);
    assert_eq!((report.infra_failure, report.infra_failure_reason.as_deref()), (true, Some("out_of_memory")));
    assert_eq!(report.resolution(), None);
}

#[test]
fn report_file_states() {
    assert_eq!(ReportFile::parse("{\"a\": {\"resolved\": true}}", "a"), ReportFile::Found { resolved: true });
    assert_eq!(ReportFile::parse("", "a"), ReportFile::Unreadable);
    assert_eq!(ReportFile::parse("{\"b\": {\"resolved\": true}}", "a"), ReportFile::Unreadable);
    let missing = tempfile::tempdir().unwrap();
    assert_eq!(ReportFile::read(&missing.path().join("report.json"), "a"), ReportFile::Missing);
}

fn run_fixture() -> (Vec<Instance>, Predictions) {
    let instances = vec![
        instance("django__django-1", "django/django", &[], &[]),
        instance("django__django-2", "django/django", &[], &[]),
        instance("django__django-3", "django/django", &[], &[]),
        instance("psf__requests-1", "psf/requests", &[], &[]),
        instance("psf__requests-2", "psf/requests", &[], &[]),
        instance("sympy__sympy-1", "sympy/sympy", &[], &[]),
    ];
    let predictions: Predictions = [
        prediction("django__django-1", Some("d")),
        prediction("django__django-2", Some("d")),
        prediction("django__django-3", Some("")),
        prediction("psf__requests-1", Some("d")),
        prediction("psf__requests-2", Some("d")),
        prediction("not__in-dataset", Some("d")),
    ]
    .into_iter()
    .collect();
    (instances, predictions)
}

#[test]
fn run_summary_from_a_log_folder() {
    let (instances, predictions) = run_fixture();
    let root = tempfile::tempdir().unwrap();
    let write = |id: &str, name: &str, text: &str| {
        let folder = root.path().join("run1").join("org__model").join(id);
        fs_err::create_dir_all(&folder).unwrap();
        fs_err::write(folder.join(name), text).unwrap();
    };
    write("django__django-1", LOG_REPORT, "{\"django__django-1\": {\"resolved\": true}}");
    write("django__django-2", LOG_REPORT, "{\"django__django-2\": {\"resolved\": false}}");
    write("django__django-2", LOG_TEST_OUTPUT, "E   ModuleNotFoundError: No module named 'pytz'\n");
    write("psf__requests-1", LOG_REPORT, "");
    write("psf__requests-2", LOG_INSTANCE, "Error response from daemon: container gone\n");
    let summary = RunSummary::from_log_dir(root.path(), "run1", &instances, &predictions);
    assert_eq!(summary.resolved_ids, vec!["django__django-1"]);
    assert_eq!(summary.completed_ids, vec!["django__django-1", "django__django-2", "psf__requests-1"]);
    assert_eq!(summary.error_ids, vec!["psf__requests-1", "psf__requests-2"]);
    assert_eq!(summary.submitted_instances, 6);
    assert_eq!(RunSummary::file_name("org/model", "run1"), "org__model.run1.json");
    insta::assert_snapshot!("run_summary_json", summary.to_json().unwrap());
    insta::assert_snapshot!("run_summary_table", summary.table_by_repo(&instances));
}
