use std::collections::BTreeSet;
use std::path::Path;

use agentless_swebench::eval_script::{END_TEST_OUTPUT, START_TEST_OUTPUT};
use agentless_swebench::lite_s::lite_s_ids_from_classification;
use agentless_swebench::report::InstanceReport;
use agentless_swebench::{
    DataDir, Dataset, DatasetName, EnvironmentPlan, EvalScriptOptions, EvalType, Instance, LogParser, Prediction,
    ResolvedStatus, eval_script, specs, test_directives,
};
use agentless_tests::{REQUIRE_SWEBENCH_DATA, skip_loudly};

/// The shared data folder as the CLI finds it, or `None` (a loud skip) when this checkout has none above it.
fn data_dir(test: &str) -> Option<DataDir> {
    DataDir::discover(Path::new(env!("CARGO_MANIFEST_DIR")))
        .map_err(|error| skip_loudly(test, &error.to_string(), REQUIRE_SWEBENCH_DATA))
        .ok()
}

fn load(name: DatasetName, data: &DataDir) -> Dataset {
    Dataset::load_named(name, data).unwrap()
}

#[test]
fn lite_s_from_the_id_file_equals_lite_s_from_the_classification_rule() {
    let Some(data) = data_dir("lite_s_from_the_id_file_equals_lite_s_from_the_classification_rule") else { return };
    let from_file: BTreeSet<String> =
        load(DatasetName::LiteS, &data).instances.into_iter().map(|instance| instance.instance_id).collect();
    let from_rule =
        lite_s_ids_from_classification(&data.path().join(agentless_swebench::dataset::CLASSIFICATION_CSV)).unwrap();
    // 249, not the paper's 252: the CSV was re-checked after the paper.
    assert_eq!(from_file.len(), 249);
    assert_eq!(from_file, from_rule);
    let lite: BTreeSet<String> = load(DatasetName::Lite, &data).instances.into_iter().map(|i| i.instance_id).collect();
    assert!(from_rule.is_subset(&lite));
}

#[test]
fn dataset_sizes_and_harness_meta() {
    let Some(data) = data_dir("dataset_sizes_and_harness_meta") else { return };
    for (name, rows) in [(DatasetName::Lite, 300), (DatasetName::LiteDev, 23), (DatasetName::Verified, 500)] {
        let dataset = load(name, &data);
        assert_eq!(dataset.instances.len(), rows, "{}", name.as_str());
        assert_eq!(dataset.harness_meta.len(), rows, "{}", name.as_str());
        for instance in &dataset.instances {
            assert_eq!(
                Some(dataset.log_parser(instance).unwrap()),
                LogParser::for_repo(&instance.repo),
                "{}: harness-meta parser disagrees with the repository's",
                instance.instance_id
            );
        }
    }
}

#[test]
fn every_lite_and_verified_instance_has_a_spec_plan_and_eval_script() {
    let Some(data) = data_dir("every_lite_and_verified_instance_has_a_spec_plan_and_eval_script") else { return };
    // Stand-in repository files: every requirements / environment.yml path exists at every commit.
    let files = |_: &str, path: &str| {
        Some(
            if path.ends_with(".yml") { "dependencies:\n  - numpy\n  - pip:\n    - pytest\n" } else { "pytest\n" }
                .to_owned(),
        )
    };
    let mut without_directives = Vec::new();
    for name in [DatasetName::Lite, DatasetName::LiteDev, DatasetName::Verified] {
        for instance in &load(name, &data).instances {
            let spec = specs::spec(&instance.repo, &instance.version)
                .unwrap_or_else(|| panic!("no spec for {} {}", instance.repo, instance.version));
            let plan = EnvironmentPlan::for_instance(instance, &files).unwrap();
            assert!(!plan.env_script.is_empty() && !plan.repo_script.is_empty(), "{}", instance.instance_id);
            let directives = test_directives(instance);
            if directives.is_empty() {
                // Upstream quirk kept: a test patch touching only data files gives no directives (whole suite).
                without_directives.push(instance.instance_id.clone());
            }
            let script = eval_script(instance, &spec, &EvalScriptOptions::default());
            let test_line = format!("{} {}", spec.test_cmd, directives.join(" "));
            assert!(script.contains(test_line.trim_end()), "{}", instance.instance_id);
            assert!(script.contains(START_TEST_OUTPUT) && script.contains(END_TEST_OUTPUT));
        }
    }
    assert_eq!(without_directives, vec!["django__django-10097"]);
}

/// A test log in the instance's runner format where every given test is reported passing.
fn passing_log(parser: LogParser, tests: &[&String]) -> String {
    let mut body = String::new();
    // A parametrized id cut at its first space upstream: the runner printed the whole parameter.
    let full_id = |test: &str| {
        if test.matches('[').count() > test.matches(']').count() {
            format!("{test} extra words]")
        } else {
            test.to_owned()
        }
    };
    match parser {
        LogParser::Pytest | LogParser::Matplotlib | LogParser::Seaborn => {
            body.push_str("============================= test session starts ==============================\n");
            body.push_str("collected 1234 items\n\n=========================== short test summary info ============================\n");
            for test in tests {
                body.push_str(&format!("PASSED {}\n", full_id(test)));
            }
        }
        LogParser::PytestOptions => {
            for test in tests {
                // A `[/x.py]` parameter was an absolute temporary path in the run.
                let printed = match test.split_once("[/") {
                    Some((main, option))
                        if test.ends_with(']') && !option.starts_with('/') && !option.contains('*') =>
                    {
                        format!("{main}[/tmp/pytest-of-root/pytest-0/test0/{option}")
                    }
                    _ => full_id(test),
                };
                body.push_str(&format!("PASSED {printed}\n"));
            }
        }
        LogParser::PytestV2 => {
            for (index, test) in tests.iter().enumerate() {
                match index % 3 {
                    0 => body.push_str(&format!("\x1b[32mPASSED\x1b[0m {}\n", full_id(test))),
                    1 => body.push_str(&format!("{} PASSED\n", full_id(test))),
                    _ => body.push_str(&format!("PASSED {}\n", full_id(test))),
                }
            }
        }
        LogParser::Django => {
            body.push_str("Testing against Django installed in '/testbed/django'\nSystem check identified no issues (0 silenced).\n");
            for test in tests {
                let looks_like_method = test.split_once(" (").is_some_and(|(_, rest)| rest.ends_with(')'));
                if !looks_like_method {
                    // A docstring-named test: Django prints the method first, then the docstring's first line.
                    body.push_str("test_with_docstring (some_app.tests.SomeTests)\n");
                }
                body.push_str(&format!("{test} ... ok\n"));
            }
            body.push_str(&format!("\n----------------------------------------------------------------------\nRan {} tests in 1.234s\n\nOK\n", tests.len()));
        }
        LogParser::Sympy => {
            body.push_str("============================= test process starts ==============================\n");
            body.push_str(&format!("sympy/core/tests/test_synthetic.py[{}] \n", tests.len() + 1));
            for test in tests {
                body.push_str(&format!("{test} ok\n"));
            }
            body.push_str("test_last_of_the_file ok                                                    [OK]\n");
            body.push_str("================== tests finished: 12 passed, in 0.50 seconds ==================\n");
        }
    }
    format!(
        "+ git apply -v -\nApplied patch cleanly.\n+ : '{START_TEST_OUTPUT}'\n+ run the tests\n{body}+ SWEBENCH_TEST_EXIT_CODE=0\n\
         + : '{END_TEST_OUTPUT}'\n+ echo '>>>>> Test Exit Code: 0'\n>>>>> Test Exit Code: 0\n+ git checkout base files\n"
    )
}

fn grade(dataset: &Dataset, instance: &Instance, log: &str) -> InstanceReport {
    let prediction = Prediction {
        instance_id: instance.instance_id.clone(),
        model_name_or_path: "synthetic".to_owned(),
        model_patch: Some(instance.patch.clone()),
    };
    InstanceReport::grade(instance, &prediction, log, dataset.log_parser(instance).unwrap(), EvalType::PassAndFail)
}

#[test]
fn synthetic_all_passing_logs_resolve_and_dropping_a_fail_to_pass_test_does_not() {
    let Some(data) = data_dir("synthetic_all_passing_logs_resolve_and_dropping_a_fail_to_pass_test_does_not") else {
        return;
    };
    let mut checked = 0;
    let mut invalid_after_drop = 0;
    let mut truncated_ids = 0;
    let mut docstring_ids = 0;
    for name in [DatasetName::Lite, DatasetName::LiteDev, DatasetName::Verified] {
        let dataset = load(name, &data);
        for instance in &dataset.instances {
            let parser = dataset.log_parser(instance).unwrap();
            let all: Vec<&String> = instance.fail_to_pass.iter().chain(&instance.pass_to_pass).collect();
            truncated_ids += all.iter().filter(|test| test.matches('[').count() > test.matches(']').count()).count();
            if parser == LogParser::Django {
                docstring_ids += all.iter().filter(|test| !test.ends_with(')')).count();
            }
            let report = grade(&dataset, instance, &passing_log(parser, &all));
            let status = report.tests_status.as_ref().unwrap_or_else(|| {
                panic!("{} ({parser:?}): log invalid, {:?}", instance.instance_id, report.infra_failure_reason)
            });
            assert!(
                report.resolved,
                "{} ({parser:?}) not resolved: F2P failures {:?}, P2P failures {:?}",
                instance.instance_id, status.fail_to_pass.failure, status.pass_to_pass.failure
            );
            // Drop one FAIL_TO_PASS test from the log: the first whose removal leaves no other line matching it
            // (a truncated id can still prefix-match a sibling parameter).
            let dropped = instance.fail_to_pass.iter().find_map(|removed| {
                let kept: Vec<&String> = all.iter().copied().filter(|test| *test != removed).collect();
                let report = grade(&dataset, instance, &passing_log(parser, &kept));
                (!report.resolved).then_some((removed, report))
            });
            let (removed, report) =
                dropped.unwrap_or_else(|| panic!("{}: no F2P test whose absence unresolves it", instance.instance_id));
            let Some(status) = report.tests_status else {
                // The only test gone: nothing parses, the log is invalid (unresolved, as upstream).
                assert_eq!(all.iter().filter(|test| **test != removed).count(), 0, "{}", instance.instance_id);
                invalid_after_drop += 1;
                continue;
            };
            assert!(status.fail_to_pass.failure.contains(removed), "{}", instance.instance_id);
            let expected = if instance.fail_to_pass.len() > 1 && !instance.pass_to_pass.contains(removed) {
                ResolvedStatus::Partial
            } else {
                ResolvedStatus::No
            };
            assert_eq!(status.resolution(), expected, "{}", instance.instance_id);
            checked += 1;
        }
    }
    assert_eq!(checked + invalid_after_drop, 823);
    eprintln!("{checked} graded after the drop, {invalid_after_drop} left with no tests at all");
    // The id formats the check exercised (Lite + dev + Verified).
    assert!(truncated_ids > 900, "{truncated_ids}");
    assert!(docstring_ids > 1_700, "{docstring_ids}");
}
