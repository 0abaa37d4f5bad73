//! A scripted in-process model (answers by stage from a queue, records every request) and the fixture repository.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use agentless_localize::Issue;
use agentless_model::{ChatRequest, Completion, Embedder, LanguageModel, ModelError, Usage};
use agentless_syntax::RepoSnapshot;

pub const COST_PER_CALL: f64 = 0.25;

enum Answer {
    Samples(Vec<String>),
    BudgetExhausted,
}

/// Answers each request with the next scripted answer of its stage; a stage with nothing left fails with
/// [`ModelError::ReplayMiss`]. Every call is held for a few milliseconds so concurrent calls overlap.
#[derive(Default)]
pub struct ScriptedModel {
    answers: Mutex<HashMap<String, VecDeque<Answer>>>,
    requests: Mutex<Vec<ChatRequest>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    embedder: Option<std::sync::Arc<WordCountEmbedder>>,
}

impl ScriptedModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue one answer (one text per sample) for `stage`.
    pub fn answer(self, stage: &str, samples: &[&str]) -> Self {
        let samples = samples.iter().map(|sample| (*sample).to_owned()).collect();
        self.push(stage, Answer::Samples(samples))
    }

    /// Serve `embedder` alongside, as a model client serves its embedding model.
    pub fn with_embedder(mut self, embedder: std::sync::Arc<WordCountEmbedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// Queue a budget failure for `stage`.
    pub fn budget_exhausted(self, stage: &str) -> Self {
        self.push(stage, Answer::BudgetExhausted)
    }

    fn push(self, stage: &str, answer: Answer) -> Self {
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(stage.to_owned())
            .or_default()
            .push_back(answer);
        self
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn requests_for(&self, stage: &str) -> Vec<ChatRequest> {
        self.requests().into_iter().filter(|request| request.stage == stage).collect()
    }

    pub fn stages(&self) -> Vec<String> {
        self.requests().into_iter().map(|request| request.stage).collect()
    }

    /// The most calls that were in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl LanguageModel for ScriptedModel {
    fn name(&self) -> &str {
        "scripted"
    }

    fn embedder(&self) -> Option<&dyn Embedder> {
        self.embedder.as_deref().map(|embedder| embedder as &dyn Embedder)
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion, ModelError> {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).push(request.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(&request.stage)
            .and_then(VecDeque::pop_front);
        match answer {
            Some(Answer::Samples(samples)) => {
                let completion_tokens = samples.iter().map(|sample| sample.len() as u64 / 4).sum();
                let usage =
                    Usage { prompt_tokens: request.prompt.len() as u64 / 4, completion_tokens, ..Usage::default() };
                Ok(Completion { samples, usage, cost_usd: COST_PER_CALL, from_cache: false })
            }
            Some(Answer::BudgetExhausted) => Err(ModelError::BudgetExhausted { spent: 1.0, limit: 1.0 }),
            None => Err(ModelError::ReplayMiss { path: PathBuf::from("script"), stage: request.stage.clone() }),
        }
    }
}

/// Embeds text as counts of a few words, so similarity follows shared words.
pub struct WordCountEmbedder {
    pub words: Vec<&'static str>,
    pub calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Embedder for WordCountEmbedder {
    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(inputs
            .iter()
            .map(|input| {
                let lower = input.to_lowercase();
                self.words.iter().map(|word| lower.matches(word).count() as f32).collect()
            })
            .collect())
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[expect(clippy::unwrap_used, reason = "a missing fixture is a broken test")]
pub fn shop() -> RepoSnapshot {
    RepoSnapshot::open(&fixtures().join("shop"), None).unwrap()
}

#[expect(clippy::unwrap_used, reason = "a missing fixture is a broken test")]
pub fn shop_issue() -> Issue {
    let text = fs_err::read_to_string(fixtures().join("shop.issue.md")).unwrap();
    Issue { id: "shop-1".to_owned(), text }
}
