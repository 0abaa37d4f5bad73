//! The repair prompt of every location sample of the `shop` instance, byte for byte against the original's
//! rendering (`prompts/tests/data/shop/repair_*.txt`, made by `prompts/tests/data/render_original.py`).

use std::path::{Path, PathBuf};

use agentless_localize::answers::{extract_code_blocks, locs_for_files};
use agentless_localize::{Issue, Locations};
use agentless_repair::{RepairOptions, repair};
use agentless_syntax::RepoSnapshot;
use pretty_assertions::assert_eq;

use crate::support::ScriptedModel;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../prompts/tests/data/shop")
}

#[tokio::test]
async fn every_repair_prompt_is_the_original_s_with_files_in_the_edit_answer_s_order() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../localize/tests/fixtures");
    let snapshot = RepoSnapshot::open(&fixtures.join("shop"), None).unwrap();
    let issue = Issue { id: "shop-1".into(), text: fs_err::read_to_string(fixtures.join("shop.issue.md")).unwrap() };
    let inputs: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(data().join("inputs.json")).unwrap()).unwrap();
    let found_files: Vec<String> = serde_json::from_value(inputs["found_files"].clone()).unwrap();
    let answers: Vec<String> = serde_json::from_value(inputs["repair_answers"].clone()).unwrap();
    let top: Vec<String> = found_files.iter().take(3).cloned().collect();
    let found_edit_locs =
        answers.iter().map(|answer| locs_for_files(&extract_code_blocks(answer), &top, snapshot.name())).collect();
    let locations = Locations { instance_id: issue.id.clone(), found_files, found_edit_locs, ..Locations::default() };

    let model = ScriptedModel::new(|_| Ok(vec![String::new()]));
    let options = RepairOptions { samples: 1, ..RepairOptions::default() };
    repair(&model, &snapshot, &issue, &locations, &options).await.unwrap();

    let mut prompts: Vec<String> = model.requests().into_iter().map(|request| request.prompt).collect();
    let mut expected: Vec<String> = (0..answers.len())
        .map(|index| fs_err::read_to_string(data().join(format!("repair_{index}.txt"))).unwrap())
        .collect();
    // The requests of the four samples run concurrently; compare as sets, each prompt being distinct.
    prompts.sort();
    expected.sort();
    assert_eq!(prompts, expected);
}
