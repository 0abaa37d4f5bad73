use pretty_assertions::assert_eq;

use super::*;

fn entries(statuses: &StatusMap) -> Vec<(&str, &str)> {
    statuses.iter().map(|(name, status)| (name.as_str(), status.as_str())).collect()
}

/// `python3.9 -W always -m unittest -v test_warn test_more test_nonl` on `tests/fixtures/test_*.py`.
const PYTHON_39: &str = include_str!("../tests/fixtures/unittest-3.9.log");
/// The same with Python 3.11, which names tests `name (module.Class.name)` and prints failing subtests.
const PYTHON_311: &str = include_str!("../tests/fixtures/unittest-3.11.log");

#[test]
fn python_3_9_output_is_read_per_test() {
    assert_eq!(
        entries(&parse_unittest(PYTHON_39)),
        vec![
            ("test_a_leaks (test_warn.Warns)", "PASSED"),
            ("test_b_writes_stderr (test_warn.Warns)", "PASSED"),
            ("test_c_fails (test_warn.Warns)", "FAILED"),
            ("test_e_ok (test_warn.Warns)", "PASSED"),
            ("test_f_skip (test_warn.Warns)", "SKIPPED"),
            ("test_g_xfail (test_warn.Warns)", "XFAIL"),
            ("test_h_error (test_warn.Warns)", "ERROR"),
            ("test_a_multiline_stderr_no_newline (test_more.More)", "PASSED"),
            ("test_b_subtests_pass (test_more.More)", "PASSED"),
            ("test_c_unexpected_success (test_more.More)", "XPASS"),
            ("test_doc (test_nonl.T)", "PASSED"),
            ("test_doc2 (test_nonl.T)", "PASSED"),
            ("test_partial (test_nonl.T)", "PASSED"),
            // No verdict line for these two: the failure summary names them.
            ("test_d_subtests (test_warn.Warns)", "FAILED"),
            ("test_d_subtest_last (test_more.More)", "FAILED"),
        ]
    );
}

#[test]
fn python_3_11_output_is_read_per_test() {
    assert_eq!(
        entries(&parse_unittest(PYTHON_311)),
        vec![
            ("test_a_leaks (test_warn.Warns.test_a_leaks)", "PASSED"),
            ("test_b_writes_stderr (test_warn.Warns.test_b_writes_stderr)", "PASSED"),
            ("test_c_fails (test_warn.Warns.test_c_fails)", "FAILED"),
            ("test_d_subtests (test_warn.Warns.test_d_subtests)", "FAILED"),
            ("test_e_ok (test_warn.Warns.test_e_ok)", "PASSED"),
            ("test_f_skip (test_warn.Warns.test_f_skip)", "SKIPPED"),
            ("test_g_xfail (test_warn.Warns.test_g_xfail)", "XFAIL"),
            ("test_h_error (test_warn.Warns.test_h_error)", "ERROR"),
            ("test_a_multiline_stderr_no_newline (test_more.More.test_a_multiline_stderr_no_newline)", "PASSED"),
            ("test_b_subtests_pass (test_more.More.test_b_subtests_pass)", "PASSED"),
            ("test_c_unexpected_success (test_more.More.test_c_unexpected_success)", "XPASS"),
            ("test_d_subtest_last (test_more.More.test_d_subtest_last)", "FAILED"),
            ("test_doc (test_nonl.T.test_doc)", "PASSED"),
            ("test_doc2 (test_nonl.T.test_doc2)", "PASSED"),
            ("test_partial (test_nonl.T.test_partial)", "PASSED"),
        ]
    );
}

#[test]
fn stderr_before_the_verdict_does_not_hide_it() {
    // Issue #14: a ResourceWarning written into the `... ok` line.
    let log = "test_x (mod.Class) ... /path/x.py:3: ResourceWarning: unclosed file\n  open(p)\nok\n\
               test_y (mod.Class) ... FAIL\n";
    assert_eq!(entries(&parse_unittest(log)), vec![("test_x (mod.Class)", "PASSED"), ("test_y (mod.Class)", "FAILED")]);
}

#[test]
fn built_in_regexes_compile() {
    assert!(TEST_HEADER.is_match("test_x (a.B) ..."));
    assert!(SUMMARY_HEADER.is_match("FAIL: test_x (a.B)"));
}
