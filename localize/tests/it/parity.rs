//! The localization prompts of the scripted `shop` run, byte for byte against the original's rendering of the same
//! instance (`prompts/tests/data/shop/*.txt`, made by `prompts/tests/data/render_original.py`).

use agentless_localize::{LocalizeOptions, STAGE_EDIT, STAGE_FILE, STAGE_IRRELEVANT, STAGE_RELATED, localize};
use pretty_assertions::assert_eq;

use crate::run::{EDIT_ANSWERS, FILE_ANSWER, IRRELEVANT_ANSWER, scripted};
use crate::support::{ScriptedModel, shop, shop_issue};

#[expect(clippy::unwrap_used, reason = "missing test data is a broken test")]
fn original(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../prompts/tests/data/shop").join(name);
    fs_err::read_to_string(path).unwrap()
}

#[tokio::test]
async fn every_localization_prompt_is_the_original_s() {
    let model = scripted();
    localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();
    assert_eq!(model.requests_for(STAGE_FILE)[0].prompt, original("file_level.txt"));
    assert_eq!(model.requests_for(STAGE_IRRELEVANT)[0].prompt, original("irrelevant_folders.txt"));
    assert_eq!(model.requests_for(STAGE_RELATED)[0].prompt, original("related_elements.txt"));
    assert_eq!(model.requests_for(STAGE_EDIT)[0].prompt, original("edit_locations.txt"));
}

#[tokio::test]
async fn edit_locations_are_asked_for_even_when_no_related_location_resolves() {
    let nothing = "```\nshop/cart.py\nfunction: no_such_function\n```";
    let model = ScriptedModel::new().answer(STAGE_FILE, &[FILE_ANSWER]).answer(STAGE_IRRELEVANT, &[IRRELEVANT_ANSWER]);
    let model =
        (0..5).fold(model, |model, _| model.answer(STAGE_RELATED, &[nothing])).answer(STAGE_EDIT, &EDIT_ANSWERS);
    let locations = localize(&model, &shop(), &shop_issue(), &LocalizeOptions::default()).await.unwrap();
    assert_eq!(model.requests_for(STAGE_RELATED).len(), 5, "1 try and 4 retries, as the original's MAX_RETRIES");
    assert_eq!(model.requests_for(STAGE_EDIT)[0].prompt, original("edit_locations_empty.txt"));
    assert_eq!(locations.found_edit_locs.len(), 4);
}
