use pretty_assertions::assert_eq;

use super::*;

fn entries(statuses: &StatusMap) -> Vec<(&str, &str)> {
    statuses.iter().map(|(name, status)| (name.as_str(), status.as_str())).collect()
}

const PYTEST_LOG: &str = "\
============================= test session starts ==============================
platform linux -- Python 3.9.20, pytest-7.4.0, pluggy-1.3.0
rootdir: /testbed
collected 6 items

testing/test_mark.py ..F.sxE                                              [100%]

=================================== FAILURES ===================================
________________________________ test_b ________________________________________
    def test_b():
>       assert 1 == 2
E       assert 1 == 2
==================================== PASSES ====================================
=========================== short test summary info ============================
PASSED testing/test_mark.py::test_a
PASSED testing/test_mark.py::TestX::test_param[a b]
FAILED testing/test_mark.py::test_b - AssertionError: assert 1 == 2
SKIPPED [1] testing/test_mark.py:55: could not import 'numpy'
SKIPPED testing/test_mark.py::test_skipped_by_marker
XFAIL testing/test_mark.py::test_c - reason: flaky
ERROR testing/test_mark.py::test_d - ValueError: boom
PASSED
======== 1 failed, 3 passed, 1 skipped, 1 xfailed, 1 error in 0.12s ============
";

#[test]
fn pytest_takes_the_first_token_and_skips_the_skip_summary() {
    let statuses = LogParser::Pytest.parse(PYTEST_LOG);
    assert_eq!(
        entries(&statuses),
        vec![
            ("testing/test_mark.py::test_a", "PASSED"),
            ("testing/test_mark.py::TestX::test_param[a", "PASSED"),
            ("testing/test_mark.py::test_b", "FAILED"),
            ("testing/test_mark.py::test_skipped_by_marker", "SKIPPED"),
            ("testing/test_mark.py::test_c", "XFAIL"),
            ("testing/test_mark.py::test_d", "ERROR"),
        ]
    );
}

#[test]
fn pytest_keeps_a_bare_percentage_when_passed() {
    // pytest-dev__pytest-5262 and -7521 expect `[100%]` in PASS_TO_PASS: a wrapped progress line.
    let statuses = LogParser::Pytest.parse("PASSED [100%]\nSKIPPED [2] a.py:1: why\n");
    assert_eq!(entries(&statuses), vec![("[100%]", "PASSED")]);
}

#[test]
fn pytest_options_shortens_absolute_path_parameters() {
    let log = "\
PASSED tests/test_self.py::test_x[/tmp/pytest-of-root/pytest-0/test_x0/a.py]
PASSED tests/test_self.py::test_y[//server/share/b.py]
PASSED tests/test_self.py::test_z[/tmp/*.py]
FAILED tests/test_self.py::test_w[rel/c.py] - AssertionError
PASSED tests/test_self.py::test_plain
PASSED tests/test_requests.py::test_url[/a/b-/c]
";
    let statuses = LogParser::PytestOptions.parse(log);
    assert_eq!(
        entries(&statuses),
        vec![
            ("tests/test_self.py::test_x[/a.py]", "PASSED"),
            ("tests/test_self.py::test_y[//server/share/b.py]", "PASSED"),
            ("tests/test_self.py::test_z[/tmp/*.py]", "PASSED"),
            ("tests/test_self.py::test_w[rel/c.py]", "FAILED"),
            ("tests/test_self.py::test_plain", "PASSED"),
            ("tests/test_requests.py::test_url[/c]", "PASSED"),
        ]
    );
}

#[test]
fn pytest_v2_strips_colours_keeps_full_ids_and_reads_the_old_form() {
    let log = "\
\x1b[32mPASSED\x1b[0m astropy/io/ascii/tests/test_qdp.py::test_roundtrip[True]
PASSED astropy/units/tests/test_format.py::test_ogip_grammar_fail[log(photon /m**2 /s /Hz)]
FAILED sklearn/tests/test_x.py::test_fit - AssertionError: arrays - differ
ERROR sklearn/tests/test_x.py::test_setup - ValueError
SKIPPED [3] sklearn/tests/test_x.py:10: needs pandas
astropy/io/fits/tests/test_header.py::test_card PASSED
astropy/io/fits/tests/test_header.py::test_other[a b] FAILED
astropy/io/fits/tests/test_header.py::test_x XFAILED
\tPASSED tests/test_build.py::test_tab
";
    let statuses = LogParser::PytestV2.parse(log);
    assert_eq!(
        entries(&statuses),
        vec![
            ("astropy/io/ascii/tests/test_qdp.py::test_roundtrip[True]", "PASSED"),
            ("astropy/units/tests/test_format.py::test_ogip_grammar_fail[log(photon /m**2 /s /Hz)]", "PASSED"),
            ("sklearn/tests/test_x.py::test_fit", "FAILED"),
            ("sklearn/tests/test_x.py::test_setup - ValueError", "ERROR"),
            ("astropy/io/fits/tests/test_header.py::test_card", "PASSED"),
            ("astropy/io/fits/tests/test_header.py::test_other[a b]", "FAILED"),
            ("astropy/io/fits/tests/test_header.py::test_x", "XFAILED"),
            ("tests/test_build.py::test_tab", "PASSED"),
        ]
    );
    assert_eq!(statuses["astropy/io/fits/tests/test_header.py::test_x"], TestStatus::Other("XFAILED".to_owned()));
}

#[test]
fn matplotlib_rewrites_mouse_buttons() {
    let log = "\
PASSED lib/matplotlib/tests/test_widgets.py::test_span_selector_drag[MouseButton.LEFT-True]
FAILED lib/matplotlib/tests/test_widgets.py::test_lasso[MouseButton.RIGHT] - assert 0
SKIPPED [1] lib/matplotlib/testing/compare.py:285: Don't know how to convert .svg files to png
";
    let statuses = LogParser::Matplotlib.parse(log);
    assert_eq!(
        entries(&statuses),
        vec![
            ("lib/matplotlib/tests/test_widgets.py::test_span_selector_drag[1-True]", "PASSED"),
            ("lib/matplotlib/tests/test_widgets.py::test_lasso[3]", "FAILED"),
        ]
    );
}

#[test]
fn seaborn_reads_three_forms() {
    let log = "\
tests/test_core.py::TestHueMapping::test_init_from_map PASSED            [ 10%]
tests/test_core.py::TestHueMapping::test_other FAILED                    [ 20%]
PASSED tests/test_core.py::TestSizeMapping::test_map
FAILED tests/test_relational.py::TestScatter::test_hue_order - AssertionError
PASSED
SKIPPED tests/test_core.py::test_skip
";
    let statuses = LogParser::Seaborn.parse(log);
    assert_eq!(
        entries(&statuses),
        vec![
            ("tests/test_core.py::TestHueMapping::test_init_from_map", "PASSED"),
            ("tests/test_core.py::TestSizeMapping::test_map", "PASSED"),
            ("tests/test_relational.py::TestScatter::test_hue_order", "FAILED"),
        ]
    );
}

const DJANGO_LOG: &str = "\
Testing against Django installed in '/testbed/django'
Importing application auth_tests
Operations to perform:
  Apply all migrations: admin, auth
Running migrations:
  Applying admin.0001_initial... OK
System check identified no issues (0 silenced).
test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests) ... ok
test_help_text (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)
Validator's help text mentions the user attributes. ... ok
test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests) ...  OK
test_skipped (auth_tests.test_validators.Other) ... skipped 'Database has feature(s) supports_foo'
test_fails (auth_tests.test_validators.Other) ... FAIL
test_errors (auth_tests.test_validators.Other) ... ERROR
test_prints (auth_tests.test_validators.Other) ... some output from the test
more output
ok
test_interrupted (servers.tests.LiveServerViews) ... Internal Server Error: /check_model_instance_from_subview/
ok
test_system_check (check_framework.tests.Checks) ... System check identified no issues (0 silenced)
ok

======================================================================
FAIL: test_fails (auth_tests.test_validators.Other)
----------------------------------------------------------------------
Traceback (most recent call last):
AssertionError: 1 != 2

======================================================================
ERROR: test_errors (auth_tests.test_validators.Other)
----------------------------------------------------------------------
ValueError: boom

----------------------------------------------------------------------
Ran 9 tests in 0.120s

FAILED (failures=1, errors=1, skipped=1)
";

#[test]
fn django_reads_verbosity_two_with_docstrings_and_repairs() {
    let statuses = LogParser::Django.parse(DJANGO_LOG);
    assert_eq!(
        entries(&statuses),
        vec![
            ("test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)", "PASSED"),
            ("Validator's help text mentions the user attributes.", "PASSED"),
            ("test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)", "PASSED"),
            ("test_skipped (auth_tests.test_validators.Other)", "SKIPPED"),
            ("test_fails (auth_tests.test_validators.Other)", "FAILED"),
            ("test_errors (auth_tests.test_validators.Other)", "ERROR"),
            ("test_prints (auth_tests.test_validators.Other)", "PASSED"),
            ("test_interrupted (servers.tests.LiveServerViews)", "PASSED"),
            ("test_system_check (check_framework.tests.Checks)", "PASSED"),
            // Upstream's `FAIL:`/`ERROR:` headers record only the first token after the colon.
            ("test_fails", "FAILED"),
            ("test_errors", "ERROR"),
        ]
    );
}

#[test]
fn django_repair_pattern_spans_lines() {
    let log = "test_version (admin_scripts.tests.CommandTypes) ... Testing against Django installed in \
               '/testbed/django' with up to 8 processes\nFound 1 test(s).\nSystem check identified no issues \
               (0 silenced).\nok\n--version is equivalent to version\n";
    let statuses = LogParser::Django.parse(log);
    assert_eq!(
        entries(&statuses),
        vec![
            ("test_version (admin_scripts.tests.CommandTypes)", "PASSED"),
            ("--version is equivalent to version", "PASSED"),
        ]
    );
}

#[test]
fn django_7188_migration_prefix() {
    let log = "Applying sites.0002_alter_domain_unique...test_no_migrations (migrations.tests.T) ... ok\n";
    let statuses = LogParser::Django.parse(log);
    assert_eq!(entries(&statuses), vec![("test_no_migrations (migrations.tests.T)", "PASSED")]);
}

const SYMPY_LOG: &str = "\
============================= test process starts ==============================
executable:         /opt/venv/bin/python  (3.9.20-final-0) [CPython]
architecture:       64-bit
cache:              no
ground types:       python
random seed:        12345678
hash randomization: on (PYTHONHASHSEED=1234)

sympy/core/tests/test_basic.py[4] 
test__aresame ok
test_structure ok
test_fails F
test_errors E                                                             [FAIL]

sympy/printing/tests/test_latex.py[2] 
test_latex_basic ok
test_latex_last ok                                                          [OK]

________________________________________________________________________________
______________ sympy/core/tests/test_basic.py:test_fails _______________
Traceback (most recent call last):
AssertionError

=========== tests finished: 4 passed, 1 failed, 1 exceptions, in 0.52 seconds ===========
DO *NOT* COMMIT!
";

#[test]
fn sympy_reads_verbose_lines_and_failure_headers() {
    let statuses = LogParser::Sympy.parse(SYMPY_LOG);
    assert_eq!(
        entries(&statuses),
        vec![
            ("sympy/core/tests/test_basic.py:test_fails", "FAILED"),
            ("test__aresame", "PASSED"),
            ("test_structure", "PASSED"),
            ("test_fails", "FAILED"),
            ("test_latex_basic", "PASSED"),
        ]
    );
}

#[test]
fn names_and_repos_resolve() {
    assert_eq!(LogParser::from_name("parse_log_scikit").unwrap(), LogParser::PytestV2);
    assert_eq!(LogParser::from_name("parse_log_requests").unwrap(), LogParser::PytestOptions);
    assert_eq!(LogParser::from_name("parse_log_sqlfluff").unwrap(), LogParser::Pytest);
    assert!(LogParser::from_name("parse_log_jest").is_err());
    assert_eq!(LogParser::for_repo("sympy/sympy"), Some(LogParser::Sympy));
    assert_eq!(LogParser::for_repo("mwaskom/seaborn"), Some(LogParser::Seaborn));
    assert_eq!(LogParser::for_repo("nobody/nothing"), None);
}

#[test]
fn built_in_regexes_compile() {
    assert!(OPTION_PATTERN.is_match("a[b]"));
    assert!(SKIP_SUMMARY_COUNT.is_match("[12]"));
    assert!(ANSI_COLOUR.is_match("[32m"));
    assert!(SYMPY_FAILURE_HEADER.is_match("__ a.py:b __"));
    assert_eq!(DJANGO_REPAIRS.len(), 3);
}
