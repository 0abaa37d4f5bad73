//! One scripted run end to end: every prompt and the final locations are snapshotted.

use agentless_localize::{
    LocalizeOptions, Retrieval, STAGE_EDIT, STAGE_FILE, STAGE_IRRELEVANT, STAGE_RELATED, localize, tree,
};
use pretty_assertions::assert_eq;

use crate::support::{ScriptedModel, WordCountEmbedder, shop, shop_issue};

pub const FILE_ANSWER: &str = "```\nshop/cart.py\nshop/discounts.py\nshop/payment/gateway.py\n```";
pub const IRRELEVANT_ANSWER: &str = "```\ndocs/\nshop/payment/\n```";
pub const RELATED_ANSWER: &str = "```\nshop/cart.py\nfunction: Cart.total\nvariable: TAX_RATE\n\n\
                                  shop/discounts.py\nclass: PercentDiscount\nfunction: best_discount\n```";
pub const EDIT_ANSWERS: [&str; 4] = [
    "```\nshop/cart.py\nfunction: Cart.total\nline: 36\n```",
    "```\nshop/cart.py\nline: 35\nline: 36\n```",
    "The percentage is fine; the order is not.\n```\nshop/discounts.py\nfunction: PercentDiscount.amount_off\n```",
    "```\nshop/cart.py\nfunction: Cart.total\n\nshop/discounts.py\nfunction: best_discount\n```",
];

pub fn scripted() -> ScriptedModel {
    ScriptedModel::new()
        .answer(STAGE_FILE, &[FILE_ANSWER])
        .answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER])
        .answer(STAGE_RELATED, &[RELATED_ANSWER])
        .answer(STAGE_EDIT, &EDIT_ANSWERS)
}

#[test]
fn the_tree_shows_python_files_outside_test_paths() {
    let snapshot = shop();
    insta::assert_snapshot!(tree::render_tree(&tree::shown_files(&snapshot, agentless_localize::TestPaths::AnyComponent)), @r"
    setup.py
    docs/
        conf.py
    shop/
        __init__.py
        cart.py
        discounts.py
        payment/
            __init__.py
            gateway.py
    ");
}

#[tokio::test]
async fn scripted_run_sends_every_stage_and_keeps_every_answer() {
    let model = scripted();
    let snapshot = shop();
    let locations = localize(&model, &snapshot, &shop_issue(), &LocalizeOptions::default()).await.unwrap();

    assert_eq!(model.stages()[2..], [STAGE_RELATED, STAGE_EDIT]);
    assert_eq!(model.most_in_flight(), 2, "file-level and irrelevant requests are sent together");
    let settings: Vec<(String, f32, u32, u32)> = model
        .requests()
        .iter()
        .map(|request| (request.stage.clone(), request.temperature, request.max_tokens, request.samples))
        .collect();
    assert!(settings.contains(&(STAGE_FILE.to_owned(), 0.0, 300, 1)), "{settings:?}");
    assert!(settings.contains(&(STAGE_IRRELEVANT.to_owned(), 0.0, 2048, 1)), "{settings:?}");
    assert_eq!(settings[2..], [(STAGE_RELATED.to_owned(), 0.0, 300, 1), (STAGE_EDIT.to_owned(), 0.8, 300, 4)]);
    assert!(model.requests().iter().all(|request| request.system == "You are a helpful assistant."));

    insta::assert_snapshot!("file_level_prompt", model.requests_for(STAGE_FILE)[0].prompt);
    insta::assert_snapshot!("irrelevant_prompt", model.requests_for(STAGE_IRRELEVANT)[0].prompt);
    insta::assert_snapshot!("related_prompt", model.requests_for(STAGE_RELATED)[0].prompt);
    insta::assert_snapshot!("edit_prompt", model.requests_for(STAGE_EDIT)[0].prompt);

    assert_eq!(locations.model_found_files, ["shop/cart.py", "shop/discounts.py", "shop/payment/gateway.py"]);
    assert_eq!(locations.irrelevant_folders, ["docs/", "shop/payment/"]);
    assert!(
        locations
            .retrieval_found_files
            .iter()
            .all(|file| !file.starts_with("docs/") && !file.starts_with("shop/payment/")),
        "{:?}",
        locations.retrieval_found_files
    );
    assert_eq!(locations.stopped, None);
    insta::assert_json_snapshot!("locations", locations, {
        ".file_traj.prompt" => "[file_level_prompt]",
        ".irrelevant_traj.prompt" => "[irrelevant_prompt]",
        ".related_loc_traj[].prompt" => "[related_prompt]",
        ".edit_loc_traj[].prompt" => "[edit_prompt]",
    });
}

#[tokio::test]
async fn locations_survive_a_json_round_trip() {
    let model = scripted();
    let locations = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();
    let json = serde_json::to_string(&locations).unwrap();
    let back: agentless_localize::Locations = serde_json::from_str(&json).unwrap();
    assert_eq!(back, locations);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let related_files: Vec<&str> =
        value["found_related_locs"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(related_files[..2], ["shop/cart.py", "shop/discounts.py"], "the answer's order is kept");
}

#[tokio::test]
async fn retrieval_off_skips_the_irrelevant_request() {
    let model = ScriptedModel::new()
        .answer(STAGE_FILE, &[FILE_ANSWER])
        .answer(STAGE_RELATED, &[RELATED_ANSWER])
        .answer(STAGE_EDIT, &EDIT_ANSWERS);
    let options = LocalizeOptions { retrieval: Retrieval::Off, ..LocalizeOptions::default() };
    let locations = localize(&model, &shop(), &shop_issue(), &options).await.unwrap();
    assert_eq!(model.stages(), [STAGE_FILE, STAGE_RELATED, STAGE_EDIT]);
    assert_eq!(locations.found_files, locations.model_found_files);
    assert!(locations.retrieval_found_files.is_empty());
}

#[tokio::test]
async fn embedding_retrieval_ranks_chunks_by_similarity() {
    let embedder = std::sync::Arc::new(WordCountEmbedder {
        words: vec!["discount", "percent", "gateway"],
        calls: Default::default(),
    });
    let model = ScriptedModel::new()
        .with_embedder(embedder.clone())
        .answer(STAGE_FILE, &["```\nsetup.py\n```"])
        .answer(STAGE_IRRELEVANT, &["```\ndocs/\n```"])
        .answer(STAGE_RELATED, &[RELATED_ANSWER])
        .answer(STAGE_EDIT, &EDIT_ANSWERS);
    let options = LocalizeOptions { retrieval: Retrieval::Embeddings, ..LocalizeOptions::default() };
    let locations = localize(&model, &shop(), &shop_issue(), &options).await.unwrap();
    assert_eq!(locations.retrieval_found_files[0], "shop/discounts.py");
    assert!(!locations.retrieval_found_files.contains(&"docs/conf.py".to_owned()));
    assert!(embedder.calls.load(std::sync::atomic::Ordering::SeqCst) >= 2, "the query and the chunks");
    assert_eq!(locations.found_files[0], "setup.py", "model files first on equal votes");
}

#[tokio::test]
async fn embedding_retrieval_without_an_embedding_model_is_an_error() {
    let model =
        ScriptedModel::new().answer(STAGE_FILE, &["```\nsetup.py\n```"]).answer(STAGE_IRRELEVANT, &["```\ndocs/\n```"]);
    let options = LocalizeOptions { retrieval: Retrieval::Embeddings, ..LocalizeOptions::default() };
    let error = localize(&model, &shop(), &shop_issue(), &options).await.unwrap_err();
    assert!(matches!(error, agentless_localize::LocalizeError::NoEmbedder), "{error:?}");
}
