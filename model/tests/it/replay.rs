//! Record and replay: a recorded run answers the same requests offline; unmatched prompts fall back by stage, or
//! fail in strict replay.

use agentless_model::client::ClientOptions;
use agentless_model::transcript::TranscriptEntry;
use agentless_model::{
    ChatRequest, Completion, LanguageModel, Ledger, ModelClient, ModelError, Provider, Usage, WireApi,
};
use pretty_assertions::assert_eq;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support;

fn replay_client(path: &std::path::Path, ledger: Ledger) -> ModelClient {
    ModelClient::new(Provider::builtin("replay").unwrap(), path.to_str().unwrap(), ClientOptions::default(), ledger)
        .unwrap()
}

fn strict_replay_client(path: &std::path::Path) -> ModelClient {
    let provider = Provider::builtin("replay-strict").unwrap();
    ModelClient::new(provider, path.to_str().unwrap(), ClientOptions::default(), Ledger::default()).unwrap()
}

#[tokio::test]
async fn a_recorded_run_replays_without_network() {
    let server = MockServer::start().await;
    for (prompt, text) in [("Which files?", "a.py"), ("Fix it.", "patch")] {
        Mock::given(method("POST"))
            .and(body_partial_json(serde_json::json!({"messages": [{}, {"content": prompt}]})))
            .respond_with(ResponseTemplate::new(200).set_body_json(support::openai_answer(&[text], 40, 4)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("runs/transcript.jsonl");
    let requests =
        [support::request("localize.file", "Which files?", 1, 0.0), support::request("repair", "Fix it.", 1, 0.8)];
    let recorder = support::client(
        support::provider(WireApi::OpenAiChat, &server.uri()),
        "gpt-4o",
        ClientOptions { record: Some(transcript.clone()), ..ClientOptions::default() },
        Ledger::default(),
    );
    let mut recorded = Vec::new();
    for request in &requests {
        recorded.push(recorder.complete(request).await.unwrap());
    }
    let lines: Vec<TranscriptEntry> =
        fs_err::read_to_string(&transcript).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.iter().map(|entry| entry.stage.as_str()).collect::<Vec<_>>(), ["localize.file", "repair"]);
    assert_eq!(lines[1].request, requests[1]);
    assert_eq!(lines[1].completion, recorded[1]);

    let ledger = Ledger::default();
    let replay = replay_client(&transcript, ledger.clone());
    // In reverse order: identical requests are found wherever they are in the file.
    for (request, original) in requests.iter().zip(&recorded).rev() {
        let replayed = replay.complete(request).await.unwrap();
        assert_eq!(replayed.samples, original.samples);
        assert_eq!(replayed.usage, original.usage);
        assert!(replayed.from_cache);
        assert_eq!(replayed.cost_usd, 0.0);
    }
    assert_eq!(ledger.total().cached_calls, 2);
    assert_eq!(ledger.total().cost_usd, 0.0);
}

fn entry(stage: &str, prompt: &str, answer: &str) -> TranscriptEntry {
    TranscriptEntry {
        stage: stage.to_owned(),
        request: support::request(stage, prompt, 1, 0.0),
        completion: Completion {
            samples: vec![answer.to_owned()],
            usage: Usage { prompt_tokens: 10, completion_tokens: 2, ..Usage::default() },
            cost_usd: 0.01,
            from_cache: false,
        },
    }
}

fn write_transcript(entries: &[TranscriptEntry]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text: String = entries.iter().map(|entry| serde_json::to_string(entry).unwrap() + "\n").collect();
    fs_err::write(file.path(), text).unwrap();
    file
}

async fn answer(client: &ModelClient, request: &ChatRequest) -> Result<String, ModelError> {
    Ok(client.complete(request).await?.samples.concat())
}

#[tokio::test]
async fn a_changed_prompt_falls_back_to_the_next_unused_record_of_its_stage() {
    let file = write_transcript(&[
        entry("localize.file", "L", "files"),
        entry("repair", "A", "patch A"),
        entry("repair", "B", "patch B"),
        entry("repair", "C", "patch C"),
    ]);
    let client = replay_client(file.path(), Ledger::default());
    let changed = support::request("repair", "a prompt nobody recorded", 1, 0.0);
    assert_eq!(answer(&client, &support::request("repair", "B", 1, 0.0)).await.unwrap(), "patch B");
    assert_eq!(answer(&client, &changed).await.unwrap(), "patch A");
    assert_eq!(answer(&client, &changed).await.unwrap(), "patch C", "B is used already");
    // An identical request is answered even when its record was used.
    assert_eq!(answer(&client, &support::request("repair", "A", 1, 0.0)).await.unwrap(), "patch A");
    let error = answer(&client, &changed).await.unwrap_err();
    assert!(matches!(&error, ModelError::ReplayMiss { stage, .. } if stage == "repair"), "{error:?}");
}

#[tokio::test]
async fn a_stage_that_was_never_recorded_is_a_replay_miss() {
    let file = write_transcript(&[entry("localize.file", "L", "files")]);
    let client = replay_client(file.path(), Ledger::default());
    let error = answer(&client, &support::request("repair", "L", 1, 0.0)).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("the replay transcript `{}` has no answer for this repair request", file.path().display())
    );
}

#[tokio::test]
async fn strict_replay_answers_identical_requests_and_names_where_a_changed_prompt_departs() {
    let file = write_transcript(&[
        entry("localize.file", "L", "files"),
        entry("repair", "Fix the rounding in money.py, please.", "patch A"),
        entry("repair", "Fix the parser.", "patch B"),
    ]);
    let client = strict_replay_client(file.path());
    let recorded = support::request("repair", "Fix the rounding in money.py, please.", 1, 0.0);
    assert_eq!(answer(&client, &recorded).await.unwrap(), "patch A");
    assert_eq!(answer(&client, &recorded).await.unwrap(), "patch A", "an identical request may be asked again");

    let changed = support::request("repair", "Fix the rounding in invoice.py, please.", 1, 0.0);
    let error = answer(&client, &changed).await.unwrap_err();
    let ModelError::ReplayMismatch { stage, difference, .. } = &error else { panic!("{error:?}") };
    assert_eq!(stage, "repair");
    // The closest record is the rounding prompt (not the unused parser one a lenient replay would answer with).
    assert_eq!(
        difference,
        "the prompt departs from recorded call 2's at character 20: «Fix the rounding in invoice.py, please.» \
         where it recorded «Fix the rounding in money.py, please.»"
    );
    assert!(error.to_string().starts_with("strict replay: the transcript"), "{error}");

    let hotter = support::request("repair", "Fix the parser.", 1, 0.7);
    let error = answer(&client, &hotter).await.unwrap_err();
    assert!(error.to_string().contains("the prompt equals recorded call 3's but the temperature differs"), "{error}");
    let error = answer(&client, &support::request("localize.edit", "E", 1, 0.0)).await.unwrap_err();
    assert!(error.to_string().contains("no localize.edit request was recorded"), "{error}");
}

#[test]
fn a_broken_transcript_line_is_reported_by_number() {
    let file = write_transcript(&[entry("repair", "A", "patch A")]);
    fs_err::write(file.path(), fs_err::read_to_string(file.path()).unwrap() + "\n{\"stage\": 1}\n").unwrap();
    let error = ModelClient::new(
        Provider::builtin("replay").unwrap(),
        file.path().to_str().unwrap(),
        ClientOptions::default(),
        Ledger::default(),
    )
    .unwrap_err();
    assert!(matches!(error, ModelError::TranscriptLine { line: 3, .. }), "{error:?}");
}
