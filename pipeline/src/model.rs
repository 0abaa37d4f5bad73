//! The model a run talks to: resolved once by the caller ([`ModelRecipe`]), built per run with its own ledger.

use agentless_model::client::ClientOptions;
use agentless_model::{Budget, Ledger, ModelClient, Provider};

use crate::PipelineError;

/// A model, resolved: the provider, the model's name, the client's options and the spending limit.
#[derive(Debug, Clone)]
pub struct ModelRecipe {
    pub provider: Provider,
    pub model: String,
    pub options: ClientOptions,
    /// US dollars the run may spend; `None` for no limit.
    pub max_cost: Option<f64>,
}

/// A model client and the ledger counting its calls.
pub struct Model {
    /// `provider:name`, as the report names the model.
    pub name: String,
    pub client: ModelClient,
    pub ledger: Ledger,
}

impl ModelRecipe {
    /// A client with a fresh ledger limited to `max_cost`.
    pub fn build(&self) -> Result<Model, PipelineError> {
        self.build_with_budget(self.max_cost)
    }

    /// A client with a fresh ledger limited to `max_cost` instead of the recipe's (what is left of a shared budget).
    pub fn build_with_budget(&self, max_cost: Option<f64>) -> Result<Model, PipelineError> {
        let ledger = Ledger::new(Budget { max_cost_usd: max_cost });
        let client = ModelClient::new(self.provider.clone(), &self.model, self.options.clone(), ledger.clone())?;
        Ok(Model { name: format!("{}:{}", self.provider.name, self.model), client, ledger })
    }
}
