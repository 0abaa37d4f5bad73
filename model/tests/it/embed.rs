//! Embeddings over the OpenAI-compatible `/embeddings` endpoint: batching, order, headers, retries, and the
//! machinery they share with chat: the response cache, the ledger (stage and price) and the budget.

use agentless_model::embed::{EMBED_BATCH, EMBED_STAGE};
use agentless_model::{
    Budget, Embedder, EmbedderOptions, Ledger, ModelError, OpenAiEmbedder, Price, STAGE_HEADER, WireApi,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{self, KEY};

/// Embeds input `"text N"` as `[N, length]`, answering in reverse order to check the client reorders.
struct NumberingServer;

impl Respond for NumberingServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: serde_json::Value = request.body_json().unwrap();
        let data: Vec<_> = body["input"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .rev()
            .map(|(index, input)| {
                let text = input.as_str().unwrap();
                let number: f32 = text.trim_start_matches("text ").parse().unwrap();
                serde_json::json!({"object": "embedding", "index": index, "embedding": [number, text.len() as f32]})
            })
            .collect();
        // One token per input, so usage and cost are known.
        let usage = serde_json::json!({"prompt_tokens": data.len(), "total_tokens": data.len()});
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"object": "list", "data": data, "usage": usage}))
    }
}

#[tokio::test]
async fn inputs_are_batched_and_vectors_come_back_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header(STAGE_HEADER, EMBED_STAGE))
        .respond_with(NumberingServer)
        .expect(2)
        .mount(&server)
        .await;
    let embedder = OpenAiEmbedder::with_env(
        &support::provider(WireApi::OpenAiChat, &format!("{}/v1", server.uri())),
        "text-embedding-3-small",
        EmbedderOptions::default(),
        Ledger::default(),
        &support::env,
    )
    .unwrap();
    let inputs: Vec<String> = (0..EMBED_BATCH + 44).map(|index| format!("text {index}")).collect();
    let vectors = embedder.embed(&inputs).await.unwrap();
    assert_eq!(vectors.len(), inputs.len());
    for (index, vector) in vectors.iter().enumerate() {
        assert_eq!(vector, &[index as f32, inputs[index].len() as f32]);
    }
    let bodies = support::received_bodies(&server).await;
    let mut sizes: Vec<usize> = bodies.iter().map(|body| body["input"].as_array().unwrap().len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [44, EMBED_BATCH]);
    assert_eq!(bodies[0]["model"], "text-embedding-3-small");
    assert!(embedder.embed(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn embeddings_retry_and_check_the_count() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"index": 0, "embedding": [1.0]}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let embedder = embedder_at(&server, EmbedderOptions::default(), Ledger::default());
    let error = embedder.embed(&["a".to_owned(), "b".to_owned()]).await.unwrap_err();
    let ModelError::Malformed { detail, .. } = &error else { panic!("{error:?}") };
    assert_eq!(detail, "no embedding for input 1");
}

fn embedder_at(server: &MockServer, options: EmbedderOptions, ledger: Ledger) -> OpenAiEmbedder {
    let provider = support::provider(WireApi::OpenAiChat, &server.uri());
    OpenAiEmbedder::with_env(&provider, "text-embedding-3-small", options, ledger, &support::env).unwrap()
}

async fn numbering_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(NumberingServer).mount(&server).await;
    server
}

fn texts(count: usize) -> Vec<String> {
    (0..count).map(|index| format!("text {index}")).collect()
}

/// $1 per million input tokens: one token (one input) costs a millionth of a dollar.
const PRICE: Price = Price { input: 1.0, output: 0.0, cached_input: None, cache_write: None };

#[tokio::test]
async fn every_batch_is_counted_in_the_ledger_under_its_stage_and_priced() {
    let server = numbering_server().await;
    let ledger = Ledger::default();
    let embedder = embedder_at(&server, EmbedderOptions { cache_dir: None, price: Some(PRICE) }, ledger.clone());
    embedder.embed(&texts(EMBED_BATCH + 4)).await.unwrap();
    let stages = ledger.by_stage();
    assert_eq!(stages.keys().collect::<Vec<_>>(), [EMBED_STAGE]);
    let embed = &stages[EMBED_STAGE];
    assert_eq!((embed.calls, embed.cached_calls), (2, 0));
    assert_eq!(embed.usage.prompt_tokens, EMBED_BATCH as u64 + 4);
    assert!((embed.cost_usd - (EMBED_BATCH + 4) as f64 / 1e6).abs() < 1e-12, "{}", embed.cost_usd);
    assert!((ledger.spent_usd() - embed.cost_usd).abs() < 1e-12, "the budget sees what embeddings cost");
    assert!(ledger.calls().iter().all(|call| call.model == "text-embedding-3-small"));
}

#[tokio::test]
async fn embeddings_are_cached_like_chat_answers() {
    let server = numbering_server().await;
    let cache = tempfile::tempdir().unwrap();
    let options = EmbedderOptions { cache_dir: Some(cache.path().to_path_buf()), price: Some(PRICE) };
    let first = embedder_at(&server, options.clone(), Ledger::default()).embed(&texts(3)).await.unwrap();
    let ledger = Ledger::default();
    let again = embedder_at(&server, options, ledger.clone()).embed(&texts(3)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(support::received_bodies(&server).await.len(), 1, "the second embedder read the cache");
    let total = ledger.total();
    assert_eq!((total.calls, total.cached_calls, total.cost_usd), (1, 1, 0.0));
    assert_eq!(total.usage.prompt_tokens, 3, "a cached call keeps its token counts");
}

#[tokio::test]
async fn a_spent_budget_stops_embeddings_before_sending() {
    let server = numbering_server().await;
    let ledger = Ledger::new(Budget { max_cost_usd: Some(2e-6) });
    let embedder = embedder_at(&server, EmbedderOptions { cache_dir: None, price: Some(PRICE) }, ledger.clone());
    embedder.embed(&texts(2)).await.unwrap();
    let error = embedder.embed(&texts(1)).await.unwrap_err();
    assert!(matches!(error, ModelError::BudgetExhausted { .. }), "{error:?}");
    assert_eq!(support::received_bodies(&server).await.len(), 1, "nothing was sent once the budget was spent");
}
