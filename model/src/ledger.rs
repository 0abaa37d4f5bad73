//! Usage and cost of every call, per stage, and the budget that stops sampling when it is spent.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Token counts of one call (all samples together). `prompt_tokens` counts every prompt token, including the
/// cached and cache-creation ones (OpenAI's convention; Anthropic's three counts are added up).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens read from the provider's prompt cache (billed at the cached rate).
    pub cached_tokens: u64,
    /// Prompt tokens written to the provider's prompt cache (Anthropic).
    pub cache_creation_tokens: u64,
}

/// Prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    /// Cached prompt tokens; defaults to `input` when absent.
    pub cached_input: Option<f64>,
    /// Cache writes; defaults to `input` when absent.
    pub cache_write: Option<f64>,
}

/// A limit on spending; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Budget {
    pub max_cost_usd: Option<f64>,
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallRecord {
    pub stage: String,
    pub model: String,
    pub samples: u32,
    pub usage: Usage,
    pub cost_usd: f64,
    pub from_cache: bool,
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageTotals {
    pub calls: u64,
    pub cached_calls: u64,
    pub usage: Usage,
    pub cost_usd: f64,
}

/// Shared by every call of a run (clone it freely: clones share state).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    state: Arc<Mutex<LedgerState>>,
}

#[derive(Debug, Default)]
struct LedgerState {
    budget: Budget,
    spent_usd: f64,
    calls: Vec<CallRecord>,
}

impl Ledger {
    pub fn new(budget: Budget) -> Self {
        Self { state: Arc::new(Mutex::new(LedgerState { budget, spent_usd: 0.0, calls: Vec::new() })) }
    }

    pub fn record(&self, call: CallRecord) {
        let mut state = self.lock();
        state.spent_usd += call.cost_usd;
        state.calls.push(call);
    }

    /// `Err(BudgetExhausted)` when the budget is spent.
    pub fn check_budget(&self) -> Result<(), crate::ModelError> {
        let state = self.lock();
        match state.budget.max_cost_usd {
            Some(limit) if state.spent_usd >= limit => {
                Err(crate::ModelError::BudgetExhausted { spent: state.spent_usd, limit })
            }
            Some(_) | None => Ok(()),
        }
    }

    /// US dollars spent so far.
    pub fn spent_usd(&self) -> f64 {
        self.lock().spent_usd
    }

    pub fn total(&self) -> StageTotals {
        let mut totals = StageTotals::default();
        for call in &self.lock().calls {
            totals.add(call);
        }
        totals
    }

    pub fn by_stage(&self) -> BTreeMap<String, StageTotals> {
        let mut stages: BTreeMap<String, StageTotals> = BTreeMap::new();
        for call in &self.lock().calls {
            stages.entry(call.stage.clone()).or_default().add(call);
        }
        stages
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.lock().calls.clone()
    }

    /// A panic while the lock was held cannot leave the state half-written (every update is one push and one
    /// addition), so a poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StageTotals {
    fn add(&mut self, call: &CallRecord) {
        self.calls += 1;
        self.cached_calls += u64::from(call.from_cache);
        self.usage += call.usage;
        self.cost_usd += call.cost_usd;
    }
}

/// Totals of several runs summed (a SWE-bench run adds up its instances' ledgers).
impl std::ops::AddAssign<&StageTotals> for StageTotals {
    fn add_assign(&mut self, other: &StageTotals) {
        self.calls += other.calls;
        self.cached_calls += other.cached_calls;
        self.usage += other.usage;
        self.cost_usd += other.cost_usd;
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Self) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cached_tokens += other.cached_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
    }
}

impl Price {
    /// The cost of `usage` in US dollars: uncached prompt tokens at `input`, cache reads at `cached_input`,
    /// cache writes at `cache_write`, completion tokens at `output`.
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        let uncached = usage.prompt_tokens.saturating_sub(usage.cached_tokens + usage.cache_creation_tokens);
        let per_million = uncached as f64 * self.input
            + usage.cached_tokens as f64 * self.cached_input.unwrap_or(self.input)
            + usage.cache_creation_tokens as f64 * self.cache_write.unwrap_or(self.input)
            + usage.completion_tokens as f64 * self.output;
        per_million / 1_000_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(stage: &str, cost_usd: f64, from_cache: bool) -> CallRecord {
        CallRecord {
            stage: stage.to_owned(),
            model: "m".to_owned(),
            samples: 1,
            usage: Usage { prompt_tokens: 100, completion_tokens: 10, cached_tokens: 40, cache_creation_tokens: 0 },
            cost_usd,
            from_cache,
            seconds: 0.5,
        }
    }

    #[test]
    fn price_splits_prompt_tokens_by_cache_state() {
        let price = Price { input: 3.0, output: 15.0, cached_input: Some(0.3), cache_write: Some(3.75) };
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 100_000,
            cached_tokens: 500_000,
            cache_creation_tokens: 200_000,
        };
        // 300k uncached × 3 + 500k × 0.3 + 200k × 3.75 + 100k × 15, per million.
        let expected = 0.9 + 0.15 + 0.75 + 1.5;
        assert!((price.cost_usd(&usage) - expected).abs() < 1e-9, "{}", price.cost_usd(&usage));
        let flat = Price { input: 2.0, output: 0.0, cached_input: None, cache_write: None };
        assert!((flat.cost_usd(&usage) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn clones_share_totals_and_budget() {
        let ledger = Ledger::new(Budget { max_cost_usd: Some(1.0) });
        let clone = ledger.clone();
        clone.record(call("localize.file", 0.6, false));
        assert!(ledger.check_budget().is_ok());
        ledger.record(call("repair", 0.0, true));
        ledger.record(call("repair", 0.4, false));
        let error = clone.check_budget().unwrap_err();
        assert!(matches!(error, crate::ModelError::BudgetExhausted { limit, .. } if limit == 1.0), "{error}");
        let total = clone.total();
        assert_eq!((total.calls, total.cached_calls), (3, 1));
        assert_eq!(total.usage.prompt_tokens, 300);
        let stages = ledger.by_stage();
        assert_eq!(stages.keys().collect::<Vec<_>>(), ["localize.file", "repair"]);
        assert_eq!(stages["repair"].calls, 2);
        assert!((stages["repair"].cost_usd - 0.4).abs() < 1e-9);
        assert_eq!(ledger.calls().len(), 3);
        let mut sum = stages["localize.file"].clone();
        sum += &stages["repair"];
        assert_eq!(sum, total);
    }

    #[test]
    fn unlimited_budget_never_exhausts() {
        let ledger = Ledger::default();
        ledger.record(call("repair", 1e9, false));
        assert!(ledger.check_budget().is_ok());
    }
}
