//! The ledger through the client: per-stage totals, and the budget stopping requests once it is spent.

use agentless_model::client::ClientOptions;
use agentless_model::{Budget, LanguageModel, Ledger, ModelError, Price, Usage, WireApi};
use pretty_assertions::assert_eq;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support;

/// $1 per million tokens in and out, so 1000 + 100 tokens cost $0.0011.
const PRICE: Price = Price { input: 1.0, output: 1.0, cached_input: None, cache_write: None };

#[tokio::test]
async fn totals_are_kept_per_stage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&["x"], 1000, 100)))
        .mount(&server)
        .await;
    let ledger = Ledger::default();
    let client = support::client(
        support::provider(WireApi::OpenAiChat, &server.uri()),
        "m",
        ClientOptions { price: Some(PRICE), ..ClientOptions::default() },
        ledger.clone(),
    );
    for stage in ["localize.file", "repair", "repair"] {
        client.complete(&support::request(stage, "p", 1, 0.0)).await.unwrap();
    }
    let stages = ledger.by_stage();
    assert_eq!(stages.keys().collect::<Vec<_>>(), ["localize.file", "repair"]);
    assert_eq!(stages["repair"].calls, 2);
    assert_eq!(stages["repair"].usage, Usage { prompt_tokens: 2000, completion_tokens: 200, ..Usage::default() });
    assert!((stages["repair"].cost_usd - 0.0022).abs() < 1e-12);
    let total = client.ledger().total();
    assert_eq!((total.calls, total.cached_calls, total.usage.prompt_tokens), (3, 0, 3000));
    assert!((total.cost_usd - 0.0033).abs() < 1e-12);
    assert!(ledger.calls().iter().all(|call| call.model == "m" && call.samples == 1 && call.seconds > 0.0));
}

#[tokio::test]
async fn a_spent_budget_stops_requests_before_they_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&["x"], 1000, 100)))
        .expect(2)
        .mount(&server)
        .await;
    let ledger = Ledger::new(Budget { max_cost_usd: Some(0.002) });
    let client = support::client(
        support::provider(WireApi::OpenAiChat, &server.uri()),
        "m",
        ClientOptions { price: Some(PRICE), ..ClientOptions::default() },
        ledger.clone(),
    );
    client.complete(&support::request("repair", "one", 1, 0.0)).await.unwrap();
    client.complete(&support::request("repair", "two", 1, 0.0)).await.unwrap();
    let error = client.complete(&support::request("repair", "three", 1, 0.0)).await.unwrap_err();
    let ModelError::BudgetExhausted { spent, limit } = error else { panic!("{error:?}") };
    assert!((spent - 0.0022).abs() < 1e-12 && limit == 0.002, "{spent} {limit}");
    assert_eq!(ledger.calls().len(), 2);
}
