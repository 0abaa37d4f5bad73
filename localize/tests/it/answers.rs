//! Bad model output: no fences, unknown paths, empty answers, locations that resolve nothing, retries, budgets.

use agentless_localize::{
    FileSpans, Issue, LocalizeError, LocalizeOptions, Retrieval, STAGE_EDIT, STAGE_FILE, STAGE_IRRELEVANT,
    STAGE_RELATED, localize,
};
use agentless_syntax::RepoSnapshot;
use pretty_assertions::assert_eq;

use crate::run::{EDIT_ANSWERS, FILE_ANSWER, IRRELEVANT_ANSWER, RELATED_ANSWER};
use crate::support::{ScriptedModel, shop, shop_issue};

const RESOLVES_NOTHING: [&str; 3] = [
    "```\nshop/cart.py\nclass: Nope\nfunction: Cart.missing\n```",
    "",
    "shop/unknown.py\nfunction: Cart.total\nline: 3",
];

fn temperatures(model: &ScriptedModel, stage: &str) -> Vec<f32> {
    model.requests_for(stage).iter().map(|request| request.temperature).collect()
}

#[tokio::test]
async fn answers_without_fences_and_with_unknown_paths_are_read_leniently() {
    let model = ScriptedModel::new()
        .answer(
            STAGE_FILE,
            &["The files are:\n1. `shop/cart.py`\n2. shop/nonexistent.py\n- ./shop/discounts.py\n\
               - tests/test_cart.py\n- shop/cart.py"],
        )
        .answer(STAGE_IRRELEVANT, &["docs/ is documentation\n- `docs/`\n"])
        .answer(
            STAGE_RELATED,
            &["Look at these:\n\n**shop/cart.py**\n- function: `Cart.total()`\n- variable: TAX_RATE"],
        )
        .answer(STAGE_EDIT, &["shop/cart.py\nline: 36", "### ./shop/cart.py\n- method: `total`", "", "no idea"]);
    let locations = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();

    // `tests/test_cart.py` is a file of the snapshot, but not of the tree the model was shown.
    assert_eq!(locations.model_found_files, ["shop/cart.py", "shop/discounts.py"]);
    assert_eq!(locations.irrelevant_folders, ["docs/"]);
    assert_eq!(locations.found_related_locs["shop/cart.py"], ["function: Cart.total\nvariable: TAX_RATE"]);
    let cart_spans: Vec<Option<&Vec<[usize; 2]>>> =
        locations.edit_spans.iter().map(|sample| sample.get("shop/cart.py")).collect();
    assert_eq!(cart_spans, [Some(&vec![[26, 40]]), Some(&vec![[22, 40]]), None, None]);
    assert_eq!(model.requests_for(STAGE_EDIT).len(), 1);
}

#[tokio::test]
async fn empty_answers_leave_the_files_to_retrieval() {
    let model = ScriptedModel::new()
        .answer(STAGE_FILE, &[""])
        .answer(STAGE_IRRELEVANT, &[""])
        .answer(STAGE_RELATED, &[""])
        .answer(STAGE_EDIT, &["", "", "", ""]);
    let options = LocalizeOptions { related_retries: 0, ..LocalizeOptions::default() };
    let locations = localize(&model, &shop(), &shop_issue(), &options).await.unwrap();

    assert!(locations.model_found_files.is_empty());
    assert!(locations.irrelevant_folders.is_empty());
    assert_eq!(locations.found_files, locations.retrieval_found_files[..3]);
    assert_eq!(locations.found_files[0], "shop/cart.py");
    assert!(locations.found_related_locs.values().all(|locs| locs == &[String::new()]));
    assert_eq!(model.stages().last().map(String::as_str), Some(STAGE_EDIT), "asked without code, as the original");
    assert!(locations.edit_spans.iter().all(|sample| sample.is_empty()));
    assert_eq!(locations.stopped, None);
}

#[tokio::test]
async fn related_answers_that_resolve_nothing_are_retried_at_temperature_one_until_the_limit() {
    let model = ScriptedModel::new()
        .answer(STAGE_FILE, &[FILE_ANSWER])
        .answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER])
        .answer(STAGE_RELATED, &[RESOLVES_NOTHING[0]])
        .answer(STAGE_RELATED, &[RESOLVES_NOTHING[1]])
        .answer(STAGE_RELATED, &[RESOLVES_NOTHING[2]])
        .answer(STAGE_RELATED, &[RELATED_ANSWER])
        .answer(STAGE_EDIT, &EDIT_ANSWERS);
    let options = LocalizeOptions { related_retries: 2, ..LocalizeOptions::default() };
    let locations = localize(&model, &shop(), &shop_issue(), &options).await.unwrap();

    assert_eq!(temperatures(&model, STAGE_RELATED), [0.0, 1.0, 1.0]);
    assert_eq!(model.requests_for(STAGE_EDIT).len(), 1, "edit locations are still asked for");
    assert_eq!(locations.related_loc_traj.len(), 3);
    assert_eq!(locations.additional_artifact_loc_related[0].raw_output_loc, RESOLVES_NOTHING[2]);
    assert_eq!(locations.stopped, None);
}

#[tokio::test]
async fn a_retry_stops_at_the_first_answer_that_resolves() {
    let bad_samples = ["```\nshop/cart.py\nline: 999\n```", "nothing", "", "```\nshop/unknown.py\nline: 3\n```"];
    let model = ScriptedModel::new()
        .answer(STAGE_FILE, &[FILE_ANSWER])
        .answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER])
        .answer(STAGE_RELATED, &[RESOLVES_NOTHING[0]])
        .answer(STAGE_RELATED, &[RELATED_ANSWER])
        .answer(STAGE_EDIT, &bad_samples)
        .answer(STAGE_EDIT, &EDIT_ANSWERS)
        .answer(STAGE_EDIT, &EDIT_ANSWERS);
    let locations = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();

    assert_eq!(temperatures(&model, STAGE_RELATED), [0.0, 1.0]);
    assert_eq!(temperatures(&model, STAGE_EDIT), [0.8, 1.0]);
    assert!(model.requests_for(STAGE_EDIT).iter().all(|request| request.samples == 4));
    assert_eq!(locations.edit_loc_traj.len(), 2);
    assert_eq!(locations.found_edit_locs.len(), 4);
    assert_eq!(locations.found_edit_locs[0]["shop/cart.py"], ["function: Cart.total\nline: 36"]);
    assert_eq!(locations.additional_artifact_loc_edit_location[0].raw_output_loc, EDIT_ANSWERS);
}

#[tokio::test]
async fn running_out_of_budget_keeps_what_was_found() {
    let model = ScriptedModel::new()
        .answer(STAGE_FILE, &[FILE_ANSWER])
        .answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER])
        .answer(STAGE_RELATED, &[RESOLVES_NOTHING[0]])
        .budget_exhausted(STAGE_RELATED)
        .answer(STAGE_RELATED, &[RELATED_ANSWER]);
    let locations = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();

    let stopped = locations.stopped.as_deref().unwrap();
    assert!(stopped.starts_with("localize.related: budget"), "{stopped}");
    assert_eq!(model.requests_for(STAGE_RELATED).len(), 2, "nothing is sent after the budget ran out");
    assert!(model.requests_for(STAGE_EDIT).is_empty());
    assert_eq!(locations.found_files[..2], ["shop/cart.py", "shop/discounts.py"]);
    assert_eq!(locations.found_related_locs["shop/cart.py"], ["class: Nope\nfunction: Cart.missing"]);
    assert_eq!(locations.related_loc_traj.len(), 1);
}

#[tokio::test]
async fn running_out_of_budget_at_the_first_stage_still_retrieves() {
    let model = ScriptedModel::new().budget_exhausted(STAGE_FILE).answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER]);
    let locations = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();

    assert!(locations.stopped.as_deref().unwrap().starts_with("localize.file: "));
    assert_eq!(model.requests().len(), 2);
    assert!(locations.file_traj.is_none());
    assert_eq!(locations.irrelevant_folders, ["docs/", "shop/payment/"]);
    assert_eq!(locations.found_files, locations.retrieval_found_files[..3]);
    assert!(locations.found_related_locs.is_empty());
}

#[tokio::test]
async fn other_model_errors_name_the_stage() {
    let model = ScriptedModel::new().answer(STAGE_FILE, &[FILE_ANSWER]).answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER]);
    let error = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap_err();
    assert!(matches!(error, LocalizeError::Model { stage: STAGE_RELATED, .. }), "{error:?}");
    assert_eq!(error.to_string(), "the model request of stage `localize.related` failed");
}

#[tokio::test]
async fn prompts_too_long_drop_files_from_the_end() {
    let repo = tempfile::tempdir().unwrap();
    fs_err::write(repo.path().join("small.py"), "def small():\n    return 1\n").unwrap();
    let huge: String = (0..45_000).map(|index| format!("value_{index:05} = {index}\n")).collect();
    fs_err::write(repo.path().join("huge.py"), huge).unwrap();
    let snapshot = RepoSnapshot::open(repo.path(), None).unwrap();
    let model = ScriptedModel::new()
        .answer(STAGE_FILE, &["```\nsmall.py\nhuge.py\n```"])
        .answer(STAGE_RELATED, &["```\nsmall.py\nfunction: small\n```"])
        .answer(STAGE_EDIT, &["```\nsmall.py\nline: 2\n```"]);
    let options = LocalizeOptions { retrieval: Retrieval::Off, edit_samples: 1, ..LocalizeOptions::default() };
    let issue = Issue { id: "long".to_owned(), text: "small is wrong".to_owned() };
    let locations = localize(&model, &snapshot, &issue, &options).await.unwrap();

    assert_eq!(locations.found_files, ["small.py", "huge.py"]);
    let related = &model.requests_for(STAGE_RELATED)[0].prompt;
    assert!(related.contains("### File: small.py ###") && !related.contains("huge.py"));
    let expected: FileSpans = [("small.py".to_owned(), vec![[1, 2]])].into_iter().collect();
    assert_eq!(locations.edit_spans, [expected]);
}
