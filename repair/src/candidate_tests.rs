use agentless_localize::spans::LineSpan;
use pretty_assertions::assert_eq;

use super::*;
use crate::context::ShownFile;

const CODE: &str = "def f(x):\n    return x\n\n\ndef g():\n    pass\n";

fn context() -> RepairContext {
    RepairContext { files: vec![ShownFile::new("m.py".into(), CODE.into(), vec![LineSpan { start: 1, end: 6 }])] }
}

fn answer(path: &str, search: &str, replace: &str) -> String {
    format!("```python\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```\n")
}

#[test]
fn kept_candidates_have_a_patch_and_a_normalized_patch() {
    let evaluation = evaluate_answer(&answer("m.py", "    return x", "    return x + 1  # fix"), &context(), None);
    assert_eq!(evaluation.status, CandidateStatus::Ok);
    assert_eq!(evaluation.edited_files, ["m.py"]);
    assert_eq!(evaluation.model_patch, evaluation.raw_patch);
    insta::assert_snapshot!(evaluation.normalized_patch.unwrap(), @r"
    diff --git a/m.py b/m.py
    --- a/m.py
    +++ b/m.py
    @@ -1,4 +1,4 @@
     def f(x):
    -    return x
    +    return x + 1
     def g():
         pass
    ");
}

#[test]
fn formatting_variants_share_a_normalized_patch() {
    let one = evaluate_answer(&answer("m.py", "    return x", "    return x+1"), &context(), None);
    let two = evaluate_answer(&answer("m.py", "    return x", "    # add one\n    return (x + 1)"), &context(), None);
    assert_eq!(one.status, CandidateStatus::Ok);
    assert_ne!(one.model_patch, two.model_patch);
    assert_eq!(one.normalized_patch, two.normalized_patch);
}

#[test]
fn new_functions_are_compared_without_their_position() {
    let before_g =
        evaluate_answer(&answer("m.py", "def g():", "def h():\n    return 1\n\n\ndef g():"), &context(), None);
    let after_g =
        evaluate_answer(&answer("m.py", "    pass", "    pass\n\n\ndef h():\n    return 1"), &context(), None);
    assert_eq!(before_g.status, CandidateStatus::Ok);
    assert_ne!(before_g.model_patch, after_g.model_patch);
    assert_eq!(before_g.normalized_patch, after_g.normalized_patch);
    assert_eq!(before_g.normalized_patch.unwrap().as_str(), "--- a/m.py\n+++ b/m.py\n+def h():\n+    return 1\n");
}

#[test]
fn a_comment_only_change_is_kept_without_a_normalized_patch() {
    let evaluation = evaluate_answer(&answer("m.py", "    return x", "    return x  # same"), &context(), None);
    assert_eq!(evaluation.status, CandidateStatus::Ok);
    assert!(evaluation.model_patch.is_some());
    assert_eq!(evaluation.normalized_patch, None);
}

#[test]
fn paths_are_cleaned_and_checked() {
    assert_eq!(clean_path("./a//b/./c.py"), "a/b/c.py");
    for path in ["/etc/passwd", "../x.py", "a/../../x.py", "C:/x.py", "~/x.py"] {
        assert!(escapes_repo(path, None), "{path}");
    }
    assert!(!escapes_repo("a/b.py", None));
    let evaluation = evaluate_answer(&answer("./m.py", "    return x", "    return -x"), &context(), None);
    assert_eq!(evaluation.status, CandidateStatus::Ok);
}

#[test]
fn symlinks_leading_outside_the_checkout_escape() {
    let repo = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs_err::create_dir(repo.path().join("pkg")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("pkg/out")).unwrap();
    std::os::unix::fs::symlink(repo.path().join("pkg"), repo.path().join("inside")).unwrap();
    assert!(escapes_repo("pkg/out/x.py", Some(repo.path())));
    assert!(!escapes_repo("inside/x.py", Some(repo.path())));
    assert!(!escapes_repo("pkg/x.py", Some(repo.path())));
}

#[test]
fn whitespace_only_ignores_blank_lines_and_trailing_space() {
    assert!(differs_only_in_whitespace("a\nb\n", "a  \n\n\nb\n"));
    assert!(!differs_only_in_whitespace("a\nb\n", "a\n    b\n"));
}

fn two_edits(first_search: &str) -> String {
    format!(
        "```python\n### m.py\n<<<<<<< SEARCH\n{first_search}\n=======\n    return x + 1\n>>>>>>> REPLACE\n\
         ### m.py\n<<<<<<< SEARCH\n    pass\n=======\n    return 2\n>>>>>>> REPLACE\n```\n"
    )
}

#[test]
fn an_unmatched_edit_is_skipped_and_the_others_kept_as_the_original_does() {
    let evaluation = evaluate_answer(&two_edits("    return nothing"), &context(), None);
    assert_eq!(evaluation.status, CandidateStatus::Ok);
    let patch = evaluation.model_patch.unwrap();
    assert!(patch.as_str().contains("+    return 2") && !patch.as_str().contains("x + 1"));
    assert_eq!(evaluation.match_rules, [MatchRule::Exact]);
    assert!(evaluation.detail.as_deref().is_some_and(|detail| detail.starts_with("skipped `m.py`: edit 0")));

    let strict = EditRules { unmatched: UnmatchedEdits::RejectSample, ..EditRules::default() };
    let rejected = evaluate_answer_with(&two_edits("    return nothing"), &context(), None, &strict);
    assert_eq!(rejected.status, CandidateStatus::SearchNotFound);
}

#[test]
fn no_matching_edit_at_all_is_search_not_found() {
    let answer = answer("m.py", "    return nothing", "    return 1");
    assert_eq!(evaluate_answer(&answer, &context(), None).status, CandidateStatus::SearchNotFound);
}

#[test]
fn every_edited_file_must_parse_unless_only_new_errors_count() {
    let broken = "def f(x):\n    return x\n\n\ndef g(:\n    pass\n";
    let context = RepairContext {
        files: vec![ShownFile::new("m.py".into(), broken.into(), vec![LineSpan { start: 1, end: 6 }])],
    };
    let fix_elsewhere = answer("m.py", "    return x", "    return -x");
    let evaluation = evaluate_answer(&fix_elsewhere, &context, None);
    assert_eq!(evaluation.status, CandidateStatus::SyntaxError, "the original's ast.parse rejects the file");
    let lenient = EditRules { syntax: SyntaxGate::NoNewErrors, ..EditRules::default() };
    assert_eq!(evaluate_answer_with(&fix_elsewhere, &context, None, &lenient).status, CandidateStatus::Ok);
}

#[test]
fn an_edit_that_empties_the_file_does_not_pass_the_gate() {
    let code = "x = 1\n";
    let context =
        RepairContext { files: vec![ShownFile::new("m.py".into(), code.into(), vec![LineSpan { start: 1, end: 1 }])] };
    let evaluation = evaluate_answer(&answer("m.py", "x = 1", ""), &context, None);
    assert_eq!(evaluation.status, CandidateStatus::SyntaxError);
}

#[test]
fn an_edit_naming_no_file_goes_to_the_only_shown_file() {
    let answer = "```python\n<<<<<<< SEARCH\n    return x\n=======\n    return -x\n>>>>>>> REPLACE\n```\n";
    let evaluation = evaluate_answer(answer, &context(), None);
    assert_eq!(evaluation.status, CandidateStatus::Ok, "the original drops it (no file name)");
    assert_eq!(evaluation.edited_files, ["m.py"]);
}

#[test]
fn edits_of_a_file_not_shown_are_skipped_and_the_others_kept() {
    let both = format!("{}{}", answer("other.py", "x = 1", "x = 2"), answer("m.py", "    return x", "    return -x"));
    let evaluation = evaluate_answer(&both, &context(), None);
    assert_eq!(evaluation.status, CandidateStatus::Ok);
    assert_eq!(evaluation.edited_files, ["m.py"]);
    assert_eq!(evaluation.detail.as_deref(), Some("skipped `other.py`: not shown"));
    let only_other = answer("other.py", "x = 1", "x = 2");
    assert_eq!(evaluate_answer(&only_other, &context(), None).status, CandidateStatus::OutsideContext);
}
