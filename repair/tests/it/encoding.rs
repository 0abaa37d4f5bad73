//! A file declaring koi8-r (PEP 263) is shown, edited and diffed as koi8-r text.

use agentless_localize::answers::FileLocs;
use agentless_repair::{CandidateStatus, RepairContext, evaluate_answer};
use agentless_syntax::RepoSnapshot;
use pretty_assertions::assert_eq;

#[test]
fn a_koi8_r_file_is_shown_edited_and_diffed_as_declared() {
    let text = "# -*- coding: koi8-r -*-\ndef приветствие():\n    return 'Привет'\n";
    let (bytes, _, _) = encoding_rs::KOI8_R.encode(text);
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("greet.py"), &bytes).unwrap();
    let snapshot = RepoSnapshot::open(dir.path(), None).unwrap();

    let locs: FileLocs = [("greet.py".to_owned(), vec!["function: приветствие".to_owned()])].into_iter().collect();
    let context = RepairContext::build(&snapshot, &["greet.py".to_owned()], &locs, 3, 10).unwrap();
    assert_eq!(context.render(), format!("### greet.py\n{}", text.trim_end()));

    let answer = "```python\n### greet.py\n<<<<<<< SEARCH\n    return 'Привет'\n=======\n    return 'Здравствуйте'\n\
                  >>>>>>> REPLACE\n```\n";
    let evaluation = evaluate_answer(answer, &context, Some(dir.path()));
    assert_eq!(evaluation.status, CandidateStatus::Ok);
    insta::assert_snapshot!(evaluation.model_patch.unwrap(), @r"
    diff --git a/greet.py b/greet.py
    --- a/greet.py
    +++ b/greet.py
    @@ -1,3 +1,3 @@
     # -*- coding: koi8-r -*-
     def приветствие():
    -    return 'Привет'
    +    return 'Здравствуйте'
    ");
}
