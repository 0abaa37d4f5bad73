//! Usage and cost of every call, per stage, and the budget that stops sampling when it is spent.

use std::collections::BTreeMap;

/// Token counts of one call (all samples together).
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
    _private: (),
}

impl Ledger {
    pub fn new(budget: Budget) -> Self {
        let _ = budget;
        todo!()
    }

    pub fn record(&self, call: CallRecord) {
        let _ = call;
        todo!()
    }

    /// `Err(BudgetExhausted)` when the budget is spent.
    pub fn check_budget(&self) -> Result<(), crate::ModelError> {
        todo!()
    }

    pub fn total(&self) -> StageTotals {
        todo!()
    }

    pub fn by_stage(&self) -> BTreeMap<String, StageTotals> {
        todo!()
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        todo!()
    }
}
