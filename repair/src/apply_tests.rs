#![allow(clippy::single_range_in_vec_init)] // one shown span is the common case

use pretty_assertions::assert_eq;

use super::*;

fn owned(text: &str) -> Vec<String> {
    text.split('\n').map(str::to_owned).collect()
}

fn apply_one(text: &str, shown: &[Range<usize>], search: &str, replace: &str) -> Result<Applied, ApplyError> {
    let (search, replace) = (owned(search), owned(replace));
    apply_edits(text, shown, &[(&search, &replace)])
}

const FILE: &str = "import os\n\n\ndef f(x):\n    if x:\n        return 1\n    return 2\n\n\ndef g():\n    return 3\n";

#[test]
fn exact_match_is_replaced() {
    let applied = apply_one(FILE, &[0..11], "        return 1", "        return 10").unwrap();
    assert_eq!(applied.text, FILE.replace("return 1\n", "return 10\n"));
    assert_eq!(applied.rules, [MatchRule::Exact]);
}

#[test]
fn trailing_whitespace_is_ignored_when_exact_fails() {
    let applied = apply_one(FILE, &[0..11], "    if x:   \n        return 1 ", "    if x:\n        return 11").unwrap();
    assert_eq!(applied.text, FILE.replace("return 1\n", "return 11\n"));
    assert_eq!(applied.rules, [MatchRule::TrailingWhitespace]);
}

#[test]
fn uniform_indentation_offsets_are_reindented_both_ways() {
    let dedented = apply_one(FILE, &[0..11], "if x:\n    return 1", "if x is not None:\n    return 1").unwrap();
    assert_eq!(dedented.text, FILE.replace("    if x:\n", "    if x is not None:\n"));
    assert_eq!(dedented.rules, [MatchRule::Indentation]);

    let overindented = apply_one(FILE, &[0..11], "        return 3", "        x = 3\n\n        return x").unwrap();
    assert_eq!(overindented.text, FILE.replace("    return 3\n", "    x = 3\n\n    return x\n"));
    assert_eq!(overindented.rules, [MatchRule::Indentation]);
}

#[test]
fn inconsistent_indentation_is_not_a_match() {
    let result = apply_one(FILE, &[0..11], "if x:\n        return 1", "pass");
    assert_eq!(result, Err(ApplyError::NotFound { edit: 0, elsewhere: None }));
}

#[test]
fn search_outside_the_shown_spans_is_not_applied() {
    // Only `def g` (lines 10-11) was shown.
    let result = apply_one(FILE, &[9..11], "        return 1", "        return 10");
    assert_eq!(result, Err(ApplyError::NotFound { edit: 0, elsewhere: Some(6) }));
    assert_eq!(
        result.map_err(|error| error.to_string()),
        Err("edit 0: the SEARCH lines are not in the shown code (they occur at line 6, which was not shown)".into())
    );
}

#[test]
fn a_match_may_not_cross_a_gap_between_spans() {
    let result = apply_one(FILE, &[3..5, 5..11], "    if x:\n        return 1", "pass");
    assert!(matches!(result, Err(ApplyError::NotFound { elsewhere: Some(5), .. })));
}

#[test]
fn every_occurrence_in_the_shown_code_is_replaced() {
    let text = "a = 1\nb = 2\na = 1\n";
    let applied = apply_one(text, &[0..3], "a = 1", "a = 3").unwrap();
    assert_eq!(applied.text, "a = 3\nb = 2\na = 3\n");
}

#[test]
fn edits_apply_in_sequence_and_spans_follow_the_text() {
    let text = "a\nb\nc\nd\ne\n";
    let (s1, r1) = (owned("a"), owned("a0\na1\na2"));
    let (s2, r2) = (owned("e"), owned("E"));
    let (s3, r3) = (owned("a1\na2"), owned("A"));
    let applied = apply_edits(text, &[0..1, 4..5], &[(&s1, &r1), (&s2, &r2), (&s3, &r3)]).unwrap();
    assert_eq!(applied.text, "a0\nA\nb\nc\nd\nE\n");
}

#[test]
fn crlf_files_keep_their_endings_and_missing_final_newline_stays_missing() {
    let applied = apply_one("x = 1\r\ny = 2\r\n", &[0..2], "y = 2", "y = 3\nz = 4").unwrap();
    assert_eq!(applied.text, "x = 1\r\ny = 3\r\nz = 4\r\n");
    let applied = apply_one("x = 1\ny = 2", &[0..2], "y = 2", "y = 3\nz = 4").unwrap();
    assert_eq!(applied.text, "x = 1\ny = 3\nz = 4");
}

#[test]
fn deletion_and_empty_search() {
    let applied = apply_one("a\nb\nc\n", &[0..3], "b", "").unwrap();
    assert_eq!(applied.text, "a\nb\nc\n".replace("b\n", "\n"));
    let none: Vec<String> = Vec::new();
    let applied = apply_edits("a\nb\nc\n", &[0..3], &[(&owned("b"), &none)]).unwrap();
    assert_eq!(applied.text, "a\nc\n");
    assert_eq!(apply_edits("a\n", &[0..1], &[(&none, &owned("x"))]), Err(ApplyError::EmptySearch { edit: 0 }));
}

#[test]
fn ellipsis_search_inserts_before_a_unique_unindented_line() {
    let applied = apply_one(FILE, &[3..11], "...", "def h():\n    return 4").unwrap();
    assert_eq!(applied.text, FILE.replace("def f(x):\n", "def h():\n    return 4\n\ndef f(x):\n"));
    assert_eq!(applied.rules, [MatchRule::Ellipsis]);
}

#[test]
fn leading_ellipsis_lines_are_dropped() {
    let applied = apply_one(FILE, &[0..11], "...\n    return 2", "...\n    return 20").unwrap();
    assert_eq!(applied.text, FILE.replace("return 2\n", "return 20\n"));
}
