//! Every environment variable the binary reads, named once.

pub struct EnvVars;

impl EnvVars {
    /// Path of the configuration file (default: `agentless.toml` in the current directory, then in the repo).
    pub const AGENTLESS_CONFIG: &'static str = "AGENTLESS_CONFIG";
    /// `PROVIDER:NAME` of the model, as `--model`.
    pub const AGENTLESS_MODEL: &'static str = "AGENTLESS_MODEL";
    /// Base URL of the provider, as `--base-url`.
    pub const AGENTLESS_BASE_URL: &'static str = "AGENTLESS_BASE_URL";
    /// Spending limit in US dollars, as `--max-cost`.
    pub const AGENTLESS_MAX_COST: &'static str = "AGENTLESS_MAX_COST";
    /// Directory of the response and index caches, as `--cache-dir`.
    pub const AGENTLESS_CACHE_DIR: &'static str = "AGENTLESS_CACHE_DIR";
    /// The folder holding the SWE-bench datasets, as `agentless swebench --data-dir`.
    pub const AGENTLESS_SWEBENCH_DATA: &'static str = "AGENTLESS_SWEBENCH_DATA";
    /// Any non-empty value hides progress bars.
    pub const AGENTLESS_NO_PROGRESS: &'static str = "AGENTLESS_NO_PROGRESS";
    /// Log filter (tracing `EnvFilter` syntax); overrides `-v`/`-q`.
    pub const AGENTLESS_LOG: &'static str = "AGENTLESS_LOG";
    /// When set, tests that need a Docker engine fail instead of skipping when none is reachable.
    pub const AGENTLESS_REQUIRE_DOCKER: &'static str = "AGENTLESS_REQUIRE_DOCKER";
    /// Key of an OpenAI-compatible server that needs one (the `openai-compatible` provider sends it when set).
    pub const AGENTLESS_API_KEY: &'static str = "AGENTLESS_API_KEY";
    /// Default key variable of the `openai` provider.
    pub const OPENAI_API_KEY: &'static str = agentless_model::provider::OPENAI_KEY_VAR;
    /// Default key variable of the `anthropic` provider.
    pub const ANTHROPIC_API_KEY: &'static str = agentless_model::provider::ANTHROPIC_KEY_VAR;
    /// The usual switch to turn colours off (<https://no-color.org>).
    pub const NO_COLOR: &'static str = "NO_COLOR";
    /// Base of the user cache directory.
    pub const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";
    /// Base of the user state directory: runs started outside the git work tree being repaired go to
    /// `$XDG_STATE_HOME/agentless/runs`.
    pub const XDG_STATE_HOME: &'static str = "XDG_STATE_HOME";
    pub const HOME: &'static str = "HOME";
}
