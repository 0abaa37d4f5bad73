//! The configuration file (`agentless.toml`) and its merge with flags and environment: flag > env > file > defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agentless_model::provider::BUILTIN_PROVIDERS;
use agentless_model::{Price, Provider, WireApi};
use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::env::EnvVars;

/// The file name looked up in the current directory, then in the repository root.
pub const CONFIG_FILE_NAME: &str = "agentless.toml";

/// The model used when neither a flag, the environment nor the file names one.
pub const DEFAULT_MODEL: &str = "openai:gpt-4o-2024-05-13";

/// `agentless.toml` as written by a user. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub model: Option<String>,
    pub base_url: Option<String>,
    pub max_cost: Option<f64>,
    pub cache_dir: Option<PathBuf>,
    /// Bytes kept of each model answer (the rest is cut and marked), so a runaway answer cannot bloat the run.
    pub max_answer_bytes: Option<usize>,
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    pub prices: BTreeMap<String, Price>,
    #[serde(default)]
    pub localize: LocalizeConfig,
    #[serde(default)]
    pub repair: RepairConfig,
    #[serde(default)]
    pub validate: ValidateConfig,
}

/// A provider table: `[providers.NAME]`. Unset fields fall back to the built-in provider of the same name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub base_url: Option<String>,
    /// The *name* of the environment variable holding the key; never the key itself.
    pub env_key: Option<String>,
    pub wire: Option<WireApi>,
    pub max_concurrency: Option<usize>,
    pub request_timeout_secs: Option<f64>,
    pub max_attempts: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizeConfig {
    pub top_n: Option<usize>,
    pub max_model_files: Option<usize>,
    pub context_window: Option<usize>,
    pub edit_samples: Option<u32>,
    pub edit_temperature: Option<f32>,
    pub related_retries: Option<u32>,
    pub filter_irrelevant: Option<bool>,
    /// `bm25` (default), `embeddings` or `off`.
    pub retrieval: Option<crate::args::RetrievalKind>,
    /// `PROVIDER:NAME` of the embedding model when `retrieval = "embeddings"`.
    pub embedding_model: Option<String>,
    /// Paths hidden from the tree as tests: `any_component` (the original's, the `paper` preset's) or
    /// `conventional` (`tests/`, `test_*.py`, …; the `local` preset's).
    pub test_paths: Option<agentless_localize::TestPaths>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairConfig {
    pub samples: Option<u32>,
    pub temperature: Option<f32>,
    /// `skip` (the original: an edit whose SEARCH is not found is skipped) or `reject_sample`.
    pub unmatched_edits: Option<agentless_repair::UnmatchedEdits>,
    /// `every_file_parses` (the original) or `no_new_errors`.
    pub syntax_gate: Option<agentless_repair::SyntaxGate>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// The test command (default: detected).
    pub test_cmd: Option<String>,
    /// `auto` (requirements files and `pip install -e .[test]`), `none` (an empty virtualenv), or a shell command.
    pub setup: Option<crate::args::SetupArg>,
    pub reproduction_tests: Option<u32>,
    pub workers: Option<usize>,
    pub test_timeout_secs: Option<u64>,
    /// Host variables test processes may see (besides the sandbox's own); secret-looking names are refused.
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// Bytes of each test run's stdout and stderr kept (the middle is cut beyond it).
    pub output_cap: Option<usize>,
}

impl FileConfig {
    /// Load the file named by `explicit` (flag or env), else the first `agentless.toml` found in the current
    /// directory or `repo`. No file is not an error; a named file that is missing is.
    pub fn load(explicit: Option<&Path>, repo: Option<&Path>) -> Result<(Self, Option<PathBuf>)> {
        let path = match explicit {
            Some(path) => {
                if !path.is_file() {
                    bail!("config file `{}` does not exist", path.display());
                }
                Some(path.to_path_buf())
            }
            None => [Some(Path::new(".")), repo]
                .into_iter()
                .flatten()
                .map(|dir| dir.join(CONFIG_FILE_NAME))
                .find(|candidate| candidate.is_file()),
        };
        let Some(path) = path else {
            return Ok((Self::default(), None));
        };
        let text = fs_err::read_to_string(&path)?;
        let config = toml::from_str(&text).with_context(|| format!("invalid config file `{}`", path.display()))?;
        Ok((config, Some(path)))
    }

    /// The provider named `name`: the built-in one overlaid with the file's table of the same name.
    pub fn provider(&self, name: &str) -> Result<Provider> {
        let overlay = self.providers.get(name);
        let builtin = Provider::builtin(name).ok();
        // A provider only the file names is an OpenAI-compatible server whose base URL the file gives.
        let custom = || -> Option<Provider> {
            overlay?;
            let mut provider = Provider::builtin("openai-compatible").ok()?;
            provider.name = name.to_owned();
            Some(provider)
        };
        let Some(mut provider) = builtin.or_else(custom) else {
            let mut known: Vec<&str> = BUILTIN_PROVIDERS.to_vec();
            known.extend(self.providers.keys().map(String::as_str));
            bail!("unknown provider `{name}` (known: {})", known.join(", "));
        };
        if let Some(overlay) = overlay {
            if let Some(base_url) = &overlay.base_url {
                provider.base_url.clone_from(base_url);
            }
            if let Some(env_key) = &overlay.env_key {
                provider.env_key = Some(env_key.clone());
            }
            if let Some(wire) = overlay.wire {
                provider.wire = wire;
            }
            if let Some(max_concurrency) = overlay.max_concurrency {
                provider.max_concurrency = max_concurrency.max(1);
            }
            if let Some(secs) = overlay.request_timeout_secs {
                provider.request_timeout = Duration::try_from_secs_f64(secs)
                    .with_context(|| format!("providers.{name}.request_timeout_secs must be a positive number"))?;
            }
            if let Some(max_attempts) = overlay.max_attempts {
                provider.retry.max_attempts = max_attempts.max(1);
            }
        }
        Ok(provider)
    }

    /// The price of `model`: the file's table first, then the built-in table.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied().or_else(|| builtin_price(model))
    }
}

/// List prices in US dollars per million tokens, as published when this table was written. Override or extend
/// them with `[prices."MODEL"]` in `agentless.toml`; a model with no price is counted in tokens only.
fn builtin_price(model: &str) -> Option<Price> {
    let (input, output, cached_input, cache_write) = match model {
        "gpt-4o-2024-05-13" => (5.0, 15.0, None, None),
        "gpt-4o" | "gpt-4o-2024-08-06" | "gpt-4o-2024-11-20" => (2.5, 10.0, Some(1.25), None),
        "gpt-4o-mini" | "gpt-4o-mini-2024-07-18" => (0.15, 0.6, Some(0.075), None),
        "gpt-4.1" => (2.0, 8.0, Some(0.5), None),
        "gpt-4.1-mini" => (0.4, 1.6, Some(0.1), None),
        "o3-mini" => (1.1, 4.4, Some(0.55), None),
        "claude-3-5-sonnet-20241022" | "claude-3-7-sonnet-20250219" | "claude-sonnet-4-20250514" => {
            (3.0, 15.0, Some(0.3), Some(3.75))
        }
        "claude-3-5-haiku-20241022" => (0.8, 4.0, Some(0.08), Some(1.0)),
        "text-embedding-3-small" => (0.02, 0.0, None, None),
        _ => return None,
    };
    Some(Price { input, output, cached_input, cache_write })
}

/// The default cache directory: `$XDG_CACHE_HOME/agentless`, else `$HOME/.cache/agentless`, else `.agentless/cache`.
pub fn default_cache_dir() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    from_env(EnvVars::XDG_CACHE_HOME)
        .or_else(|| from_env(EnvVars::HOME).map(|home| home.join(".cache")))
        .map(|base| base.join("agentless"))
        .unwrap_or_else(|| PathBuf::from(".agentless/cache"))
}

/// The default state directory: `$XDG_STATE_HOME/agentless`, else `$HOME/.local/state/agentless`, else
/// `.agentless/state`.
pub fn default_state_dir() -> PathBuf {
    let from_env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    from_env(EnvVars::XDG_STATE_HOME)
        .or_else(|| from_env(EnvVars::HOME).map(|home| home.join(".local").join("state")))
        .map(|base| base.join("agentless"))
        .unwrap_or_else(|| PathBuf::from(".agentless/state"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overlays_builtin_provider() {
        let config: FileConfig = toml::from_str(
            r#"
            [providers.openai]
            base_url = "http://127.0.0.1:9/v1"
            max_attempts = 2
            "#,
        )
        .unwrap();
        let provider = config.provider("openai").unwrap();
        assert_eq!(provider.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(provider.env_key.as_deref(), Some("OPENAI_API_KEY"));
        assert_eq!(provider.retry.max_attempts, 2);
    }

    #[test]
    fn custom_provider_from_file() {
        let config: FileConfig = toml::from_str(
            r#"
            [providers.ollama]
            base_url = "http://127.0.0.1:11434/v1"
            "#,
        )
        .unwrap();
        let provider = config.provider("ollama").unwrap();
        assert_eq!(provider.wire, WireApi::OpenAiChat);
        assert_eq!(provider.env_key, None);
        let error = config.provider("nope").unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown provider `nope` (known: openai, anthropic, openai-compatible, replay, replay-strict, ollama)"
        );
    }

    #[test]
    fn repair_rules_are_read_from_the_file() {
        let config: FileConfig =
            toml::from_str("[repair]\nunmatched_edits = \"reject_sample\"\nsyntax_gate = \"no_new_errors\"\n").unwrap();
        assert_eq!(config.repair.unmatched_edits, Some(agentless_repair::UnmatchedEdits::RejectSample));
        assert_eq!(config.repair.syntax_gate, Some(agentless_repair::SyntaxGate::NoNewErrors));
        let error = toml::from_str::<FileConfig>("[repair]\nsyntax_gate = \"ast\"\n").unwrap_err().to_string();
        assert!(error.contains("every_file_parses"), "{error}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = toml::from_str::<FileConfig>("api_key = \"sk-x\"").unwrap_err().to_string();
        assert!(error.contains("unknown field `api_key`"), "{error}");
    }

    #[test]
    fn file_prices_win_over_builtin() {
        let config: FileConfig = toml::from_str(
            r#"
            [prices."gpt-4o"]
            input = 1.0
            output = 2.0
            "#,
        )
        .unwrap();
        assert_eq!(config.price("gpt-4o").map(|price| price.input), Some(1.0));
        assert_eq!(config.price("gpt-4o-mini").map(|price| price.output), Some(0.6));
        assert_eq!(config.price("my-local-model"), None);
    }
}
