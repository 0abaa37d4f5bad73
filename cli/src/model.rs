//! Building the model client from flags, environment and config: which provider, which model, cache, budget.

use std::path::PathBuf;

use agentless_model::client::ClientOptions;
use agentless_model::{Budget, Ledger, ModelClient, ModelSpec, StageTotals};
use anyhow::{Context, Result, bail};

use crate::args::ModelArgs;
use crate::config::{DEFAULT_MODEL, FileConfig, default_cache_dir};
use crate::env::EnvVars;

pub struct ModelSetup {
    pub client: ModelClient,
    pub ledger: Ledger,
}

/// Resolve flag > env (clap reads it into the same field) > file > default, then build the client.
pub fn build(args: &ModelArgs, config: &FileConfig) -> Result<ModelSetup> {
    let spec_text = args.model.clone().or_else(|| config.model.clone()).unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    let spec: ModelSpec = spec_text.parse()?;
    let mut provider = config.provider(&spec.provider)?;
    if let Some(base_url) = args.base_url.clone().or_else(|| config.base_url.clone()) {
        provider.base_url = base_url;
    }
    if spec.provider == "openai-compatible"
        && provider.env_key.is_none()
        && std::env::var_os(EnvVars::AGENTLESS_API_KEY).is_some_and(|key| !key.is_empty())
    {
        provider.env_key = Some(EnvVars::AGENTLESS_API_KEY.to_owned());
    }
    if !provider.wire.is_replay() && provider.base_url.is_empty() {
        bail!(
            "provider `{}` needs a base URL: pass --base-url (e.g. http://localhost:8000/v1) or set base_url in [providers.{}]",
            spec.provider,
            spec.provider
        );
    }
    let max_cost = args.max_cost.or(config.max_cost);
    if let Some(limit) = max_cost
        && !(limit.is_finite() && limit >= 0.0)
    {
        bail!("--max-cost must be a non-negative number of US dollars, not {limit}");
    }
    let ledger = Ledger::new(Budget { max_cost_usd: max_cost });
    let cache_dir: Option<PathBuf> = (!args.no_cache)
        .then(|| args.cache_dir.clone().or_else(|| config.cache_dir.clone()).unwrap_or_else(default_cache_dir))
        .map(|dir| dir.join("responses"));
    let options = ClientOptions {
        cache_dir,
        record: args.record.clone(),
        price: config.price(&spec.model),
        max_answer_bytes: config.max_answer_bytes,
    };
    let client = ModelClient::new(provider, &spec.model, options, ledger.clone())
        .with_context(|| format!("cannot set up model `{spec_text}`"))?;
    Ok(ModelSetup { client, ledger })
}

/// `12,345` for humans.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// One line of model usage: calls, tokens, cost.
pub fn usage_line(totals: &StageTotals) -> String {
    format!(
        "{} call(s) ({} cached), {} prompt + {} completion tokens ({} cached), ${:.4}",
        totals.calls,
        totals.cached_calls,
        thousands(totals.usage.prompt_tokens),
        thousands(totals.usage.completion_tokens),
        thousands(totals.usage.cached_tokens),
        totals.cost_usd
    )
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
