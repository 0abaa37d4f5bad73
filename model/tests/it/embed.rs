//! Embeddings over the OpenAI-compatible `/embeddings` endpoint: batching, order, headers, retries.

use agentless_model::embed::{EMBED_BATCH, EMBED_STAGE};
use agentless_model::{Embedder, ModelError, OpenAiEmbedder, STAGE_HEADER, WireApi};
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
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"object": "list", "data": data}))
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
    let embedder =
        OpenAiEmbedder::with_env(&support::provider(WireApi::OpenAiChat, &server.uri()), "e", &support::env).unwrap();
    let error = embedder.embed(&["a".to_owned(), "b".to_owned()]).await.unwrap_err();
    let ModelError::Malformed { detail, .. } = &error else { panic!("{error:?}") };
    assert_eq!(detail, "no embedding for input 1");
}
