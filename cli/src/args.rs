//! The command line: one clap-derive definition of every command and flag, laid out as uv's help is: the options
//! every command takes under their own heading, a `[default: …]` on every option that has one, `[env: …]` for the
//! variables, and examples after each command's options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::env::EnvVars;
use crate::examples;

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";
/// The heading of the model's options (`ModelArgs`).
const MODEL: &str = "Model options";
/// The heading of the sampling options of `run`, `action` and `swebench infer`.
const SAMPLING: &str = "Sampling options";
/// The heading of the validation and sandbox options of `run`, `action` and `swebench infer`.
const VALIDATION: &str = "Validation options";

#[derive(Debug, Parser)]
#[command(
    name = "agentless",
    version,
    about = "Repair issues in Python repositories the Agentless way: localize, repair, validate.",
    long_about = None,
    propagate_version = true,
    disable_help_flag = true,
    disable_version_flag = true,
    after_help = examples::AGENTLESS
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More logging on stderr: -v info, -vv debug, -vvv trace (a tracing filter in AGENTLESS_LOG wins) [env:
    /// AGENTLESS_LOG=]
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    /// Configuration file [default: ./agentless.toml, else agentless.toml in the repository]
    #[arg(long, global = true, env = EnvVars::AGENTLESS_CONFIG, value_name = "FILE", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    /// Hide progress bars.
    #[arg(
        long,
        global = true,
        env = EnvVars::AGENTLESS_NO_PROGRESS,
        value_parser = clap::builder::FalseyValueParser::new(),
        help_heading = GLOBAL
    )]
    pub no_progress: bool,
    /// Print help (a summary with -h).
    #[arg(short, long, global = true, action = clap::ArgAction::Help, help_heading = GLOBAL)]
    pub help: Option<bool>,
    /// Print the version.
    #[arg(short = 'V', long, global = true, action = clap::ArgAction::Version, help_heading = GLOBAL)]
    pub version: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse every Python file and print counts, or the structure in the Agentless JSON layout.
    #[command(after_help = examples::INDEX)]
    Index(IndexArgs),
    /// Print the Agentless skeleton of Python files: classes, signatures, `...` bodies, module-level assignments.
    #[command(after_help = examples::SKELETON)]
    Skeleton(SkeletonArgs),
    /// Localize an issue: suspicious files, related elements, and sampled edit locations.
    #[command(after_help = examples::LOCALIZE)]
    Localize(LocalizeArgs),
    /// Sample candidate patches as SEARCH/REPLACE edits for each location sample.
    #[command(after_help = examples::REPAIR)]
    Repair(RepairArgs),
    /// The whole pipeline: localize, repair, validate in sandboxes, and print the chosen diff.
    #[command(after_help = examples::RUN)]
    Run(Box<RunArgs>),
    /// Manage the Docker images candidates are tested in.
    #[command(after_help = examples::SANDBOX)]
    Sandbox(SandboxArgs),
    /// The GitHub Action bot: run on a labelled issue or a `/agentless` comment and open a draft pull request.
    #[command(after_help = examples::ACTION, after_long_help = examples::action_long())]
    Action(Box<ActionArgs>),
    /// SWE-bench: evaluate predictions, run the pipeline on instances, merge shards, clone the repositories.
    #[command(after_help = examples::SWEBENCH)]
    Swebench(SwebenchArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = examples::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a folder.
    #[command(after_help = examples::MAN)]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write agentless.1 and agentless-COMMAND.1 for every command into this folder instead of printing
    /// agentless.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ActionArgs {
    /// The run directory (uploaded as the workflow's artifact) [default: a new folder under .agentless/runs/ in the
    /// workspace when run from inside it, else under $XDG_STATE_HOME/agentless/runs/]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Debug, Args)]
pub struct RepoArgs {
    /// The repository: a git work tree, a bare repository (then --rev is required) or a plain folder.
    #[arg(long, value_name = "DIR")]
    pub repo: PathBuf,
    /// Read files at this revision from git objects (no checkout) instead of the files on disk.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// `text` prints counts; `json` prints the structure in the Agentless layout ({repo, base_commit, structure}).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Also build the skeleton of every file (as localization does for the files it shows).
    #[arg(long)]
    pub skeletons: bool,
    /// Parse everything again instead of reusing the content-hash cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Directory of the caches [default: $XDG_CACHE_HOME/agentless, else ~/.cache/agentless]
    #[arg(long, env = EnvVars::AGENTLESS_CACHE_DIR, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SkeletonArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    /// Repository-relative paths of Python files (`.py`).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The model as PROVIDER:NAME: openai:…, anthropic:…, openai-compatible:… (with --base-url),
    /// replay:TRANSCRIPT.jsonl or replay-strict:TRANSCRIPT.jsonl [default: openai:gpt-4o-2024-05-13]
    ///
    /// For example openai:gpt-4o-2024-05-13, anthropic:claude-3-5-sonnet-20241022 or
    /// openai-compatible:qwen2.5-coder. The API key is read from the provider's variable: OPENAI_API_KEY for
    /// openai, ANTHROPIC_API_KEY for anthropic, AGENTLESS_API_KEY for openai-compatible (sent only when set), or
    /// the variable `env_key` names in the provider's `[providers.NAME]` table of agentless.toml.
    ///
    /// API keys: [env: OPENAI_API_KEY=, ANTHROPIC_API_KEY=, AGENTLESS_API_KEY=]
    #[arg(long, env = EnvVars::AGENTLESS_MODEL, value_name = "PROVIDER:NAME", help_heading = MODEL)]
    pub model: Option<String>,
    /// Base URL of the provider's API, e.g. http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for
    /// Ollama [default: https://api.openai.com/v1 for openai, https://api.anthropic.com/v1 for anthropic]
    #[arg(long, env = EnvVars::AGENTLESS_BASE_URL, value_name = "URL", help_heading = MODEL)]
    pub base_url: Option<String>,
    /// Stop sending requests once this many US dollars are spent; what was found so far is kept [default: no
    /// limit]
    #[arg(long, env = EnvVars::AGENTLESS_MAX_COST, value_name = "USD", help_heading = MODEL)]
    pub max_cost: Option<f64>,
    /// Directory of the caches; responses are kept in its `responses/` [default: $XDG_CACHE_HOME/agentless, else
    /// ~/.cache/agentless]
    #[arg(long, env = EnvVars::AGENTLESS_CACHE_DIR, value_name = "DIR", help_heading = MODEL)]
    pub cache_dir: Option<PathBuf>,
    /// Send every request even when the cache has its answer.
    #[arg(long, help_heading = MODEL)]
    pub no_cache: bool,
    /// Write every request and answer to this JSONL transcript (replay it with --model replay:FILE).
    #[arg(long, value_name = "FILE", help_heading = MODEL)]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// A file holding the issue text (title and body), or `-` to read it from stdin.
    #[arg(long, value_name = "FILE|-")]
    pub issue: PathBuf,
    /// The id recorded in the outputs [default: the repository's name]
    #[arg(long, value_name = "ID")]
    pub instance_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct LocalizeArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub issue: IssueArgs,
    /// Directory for locations.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Number of edit-location samples [default: 4]
    #[arg(long, value_name = "N")]
    pub edit_samples: Option<u32>,
    /// How many top files localization works on (the original's --top_n) [default: 3]
    #[arg(long, value_name = "N")]
    pub top_n: Option<usize>,
    /// Lexical retrieval (bm25), embeddings from the configured embedding model, or none [default: bm25]
    #[arg(long, value_name = "KIND")]
    pub retrieval: Option<RetrievalKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalKind {
    Bm25,
    Embeddings,
    Off,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub issue: IssueArgs,
    /// The locations.json written by `agentless localize`.
    #[arg(long, value_name = "FILE")]
    pub locations: PathBuf,
    /// Directory for candidates.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Samples per location sample: one greedy, the rest at --temperature [default: 10]
    #[arg(long, value_name = "N")]
    pub samples: Option<u32>,
    /// Temperature of the non-greedy samples [default: 0.8]
    #[arg(long, value_name = "T")]
    pub temperature: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxKind {
    /// A temporary copy and a virtualenv on this machine (no isolation beyond process groups).
    Local,
    /// Warm containers from a project image, network off, memory/CPU/process limits, non-root.
    Docker,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub repo: RepoArgs,
    #[command(flatten)]
    pub issue: IssueArgs,
    /// The run directory [default: a new folder under .agentless/runs/ at the top of the git work tree being
    /// repaired when run from inside it, else under $XDG_STATE_HOME/agentless/runs/, else
    /// ~/.local/state/agentless/runs/]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Reuse what an earlier run left in --out: finished stages are not redone.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Apply the chosen patch to the work tree (only for a git work tree without --rev).
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// The Python of a Docker image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PythonArg {
    #[value(name = "3.9")]
    Py39,
    #[value(name = "3.11")]
    Py311,
    #[value(name = "3.13")]
    Py313,
}

/// How a sandbox's virtualenv gets the test dependencies, as `--setup` and `[validate] setup` spell it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "String")]
pub enum SetupArg {
    /// `auto`: requirements files and `pip install -e .[test]`.
    Auto,
    /// `none`: an empty virtualenv.
    None,
    /// Any other text: a shell command.
    Command(String),
}

impl From<String> for SetupArg {
    fn from(text: String) -> Self {
        match text.as_str() {
            "auto" => SetupArg::Auto,
            "none" => SetupArg::None,
            _ => SetupArg::Command(text),
        }
    }
}

impl std::str::FromStr for SetupArg {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(SetupArg::from(text.to_owned()))
    }
}

/// How the local sandbox contains test processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocalContainment {
    /// Bubblewrap when it works on this machine, otherwise none.
    Auto,
    /// Bubblewrap or an error.
    Bubblewrap,
    /// None: tests run as you, with the network.
    None,
}

/// Everything that shapes a pipeline run, shared by `run` and `action`.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Where candidates are tested [default: local for `run` and `action`; docker for `swebench infer`, in the
    /// instance's own image as `swebench eval` builds it]
    #[arg(long, value_enum, help_heading = VALIDATION)]
    pub sandbox: Option<SandboxKind>,
    /// Sandboxes of this run working in parallel [default: 2]
    #[arg(long, value_name = "N", help_heading = VALIDATION)]
    pub workers: Option<usize>,
    /// The test command [default: detected: pytest with -rA, Django's runtests.py, or the exit code]
    #[arg(long, value_name = "CMD", help_heading = VALIDATION)]
    pub test_cmd: Option<String>,
    /// How the virtualenv gets the test dependencies: `auto` (requirements files and `pip install -e .[test]`),
    /// `none` (an empty virtualenv), or a shell command [default: auto; `swebench infer`: the instance's own
    /// environment]
    #[arg(long, value_name = "CMD", help_heading = VALIDATION)]
    pub setup: Option<SetupArg>,
    /// Python of the Docker image [default: the one of 3.9, 3.11, 3.13 the project's requires-python and
    /// classifiers allow, 3.11 when several do or it names none]
    #[arg(long, value_enum, value_name = "X.Y", help_heading = VALIDATION)]
    pub python: Option<PythonArg>,
    /// A host environment variable test processes may see (repeatable; also `pass_env` in `[validate]`). Test
    /// processes otherwise get only PATH, HOME, TMPDIR, the locale and the virtualenv's variables; names that look
    /// like secrets (*_API_KEY, *_KEY, *TOKEN*, *SECRET*, *PASSWORD*, *CREDENTIAL*, GITHUB_*, AGENTLESS_*) are refused.
    #[arg(long, value_name = "NAME", help_heading = VALIDATION)]
    pub pass_env: Vec<String>,
    /// How the local sandbox contains test processes: `auto` uses bubblewrap (`bwrap`) when it works here — no
    /// network, the host read-only, home and secrets hidden, every process killed with the run — and otherwise
    /// none, where tests run as you with the network and can write wherever you can (the copy, virtualenv, home
    /// and temp are still restored before every candidate). The run prints which one it got.
    #[arg(long, value_enum, default_value_t = LocalContainment::Auto, help_heading = VALIDATION)]
    pub containment: LocalContainment,
    /// Reproduction tests to generate, 0 for none [default: 10; `swebench infer --preset paper`: 40]
    #[arg(long, value_name = "N", help_heading = VALIDATION)]
    pub reproduction_tests: Option<u32>,
    /// Do not run the regression tests.
    #[arg(long, help_heading = VALIDATION)]
    pub no_regression: bool,
    /// Seconds each test run may take; reproduction runs get at most 600 [default: 600; `swebench infer --preset
    /// paper`: 1200]
    #[arg(long, value_name = "SECONDS", help_heading = VALIDATION)]
    pub test_timeout: Option<u64>,
    /// Number of edit-location samples [default: 4]
    #[arg(long, value_name = "N", help_heading = SAMPLING)]
    pub edit_samples: Option<u32>,
    /// Samples per location sample: one greedy, the rest at --temperature [default: 10]
    #[arg(long, value_name = "N", help_heading = SAMPLING)]
    pub samples: Option<u32>,
    /// Temperature of the non-greedy repair samples [default: 0.8]
    #[arg(long, value_name = "T", help_heading = SAMPLING)]
    pub temperature: Option<f32>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Build the base image `agentless/python:X.Y` from a Debian root filesystem (needs root and debootstrap), or
    /// from a registry's Python image with `--from`.
    #[command(after_help = examples::SANDBOX_BUILD_IMAGE)]
    BuildImage {
        /// 3.9 (bullseye), 3.11 (bookworm) or 3.13 (trixie).
        #[arg(long, value_enum, value_name = "X.Y", default_value_t = PythonArg::Py311)]
        python: PythonArg,
        /// Directory of the caches; the root filesystem tarball is kept in its `rootfs/` [default:
        /// $XDG_CACHE_HOME/agentless, else ~/.cache/agentless]
        #[arg(long, env = EnvVars::AGENTLESS_CACHE_DIR, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
        /// Build even when the image exists.
        #[arg(long)]
        force: bool,
        /// Make it from this registry image instead of Debian's archive, e.g. `python:3.11-slim` (pulled unless the
        /// engine has it; git, a compiler and the `agentless` user are added; needs neither root nor debootstrap).
        #[arg(long, value_name = "IMAGE")]
        from: Option<String>,
    },
    /// The images and containers this tool made (known by their labels; no other is shown): kind, repository,
    /// version, tag, size, when built and last used; totals at the end.
    #[command(after_help = examples::SANDBOX_LIST)]
    List {
        /// One JSON document instead of the tables.
        #[arg(long)]
        json: bool,
        /// Directory of the caches (the images' last-use stamps are kept there).
        #[arg(long, env = EnvVars::AGENTLESS_CACHE_DIR, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Remove the containers of runs that are gone, then images this tool made, children before parents: every one
    /// but the base images unless the options narrow it. An image still in use is skipped; another's is never
    /// touched. Exit 1 when some removal failed.
    #[command(after_help = examples::SANDBOX_PRUNE)]
    Prune {
        /// Only images last used (by a container, theirs or an image's layered on them) longer ago than AGE:
        /// 90m, 12h, 7d, 2w.
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: Option<Duration>,
        /// Keep SWE-bench environment images, system-package layers and base images (slow to build, shared).
        #[arg(long, conflicts_with = "all")]
        keep_environments: bool,
        /// Base images too (rebuilding one takes minutes of debootstrap).
        #[arg(long)]
        all: bool,
        /// Only the images of this repository (as listed, e.g. django/django).
        #[arg(long, value_name = "NAME")]
        repository: Option<String>,
        /// Print what would be removed and remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// One JSON document instead of lines.
        #[arg(long)]
        json: bool,
        /// Directory of the caches (the images' last-use stamps are kept there).
        #[arg(long, env = EnvVars::AGENTLESS_CACHE_DIR, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

/// `90s`, `90m`, `12h`, `7d`, `2w`.
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|character: char| !character.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not an age such as 90m, 12h, 7d or 2w"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{text}`: the unit is one of s, m, h, d, w (as in 7d)")),
    };
    Ok(Duration::from_secs(number.saturating_mul(seconds)))
}

#[derive(Debug, Args)]
pub struct SwebenchArgs {
    #[command(subcommand)]
    pub command: SwebenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum SwebenchCommand {
    /// Grade predictions as the SWE-bench harness does: per-instance environments, the model patch, the test patch,
    /// the per-version test command, the repository's log parser; report.json per instance and a summary.
    #[command(after_help = examples::SWEBENCH_EVAL)]
    Eval(Box<SwebenchEvalArgs>),
    /// Run the whole pipeline on each instance and append to DIR/predictions.jsonl (resumable, shardable).
    #[command(after_help = examples::SWEBENCH_INFER)]
    Infer(Box<SwebenchInferArgs>),
    /// Join the predictions.jsonl of shard folders into one file (later shards win on duplicates).
    #[command(after_help = examples::SWEBENCH_MERGE)]
    Merge(SwebenchMergeArgs),
    /// Clone the repositories a dataset needs into --repos (needs the network; prints each command).
    #[command(after_help = examples::SWEBENCH_CLONE)]
    Clone(SwebenchCloneArgs),
    /// Compare our predictions with another run's (the original Agentless's all_preds.jsonl), instance by
    /// instance: a table on stdout (or JSON lines), the counts on stderr.
    #[command(after_help = examples::SWEBENCH_COMPARE)]
    Compare(SwebenchCompareArgs),
}

#[derive(Debug, Args)]
pub struct SwebenchDatasetArgs {
    /// lite, lite-dev, verified, lite-s, or a Parquet/.jsonl/.json file in SWE-bench's format.
    #[arg(long, value_name = "NAME|FILE", default_value = "lite")]
    pub dataset: String,
    /// The folder holding the named datasets [default: the first `shared/data` above the current directory]
    #[arg(long, env = EnvVars::AGENTLESS_SWEBENCH_DATA, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Only these instances: ids separated by spaces or commas, as upstream's --instance_ids [default: all]
    #[arg(long, value_name = "ID", num_args = 1.., value_delimiter = ',')]
    pub instances: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SwebenchEvalArgs {
    #[command(flatten)]
    pub dataset: SwebenchDatasetArgs,
    /// A predictions file (.jsonl, .json list or object keyed by id), `gold` (the dataset's patches) or `empty`.
    #[arg(long, value_name = "FILE|gold|empty")]
    pub predictions: String,
    /// Folder of local clones, one per repository, named owner__name (bare or not).
    #[arg(long, value_name = "DIR")]
    pub repos: PathBuf,
    /// Output folder: <run-id>/<model>/<instance>/ artifacts, <model>.<run-id>.json summary and .txt table.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Name of this evaluation run [default: a new one per run, eval-YYYYMMDD-HHMMSS (UTC), printed on stderr]
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Instances evaluated in parallel (upstream's --max_workers).
    #[arg(long, visible_alias = "max-workers", value_name = "N", default_value_t = 2)]
    pub instance_workers: usize,
    /// Seconds the tests of one instance may take (SWE-bench's default).
    #[arg(long, alias = "timeout", value_name = "SECONDS", default_value_t = 1800)]
    pub test_timeout: u64,
    /// Where instances run: Docker project images (per instance, cached by content) or local virtualenvs.
    #[arg(long, value_enum, default_value_t = SandboxKind::Docker)]
    pub sandbox: SandboxKind,
    /// Also run empty patches (always on for `--predictions empty`; SWE-bench itself skips them).
    #[arg(long)]
    pub run_empty: bool,
}

#[derive(Debug, Args)]
pub struct SwebenchInferArgs {
    #[command(flatten)]
    pub dataset: SwebenchDatasetArgs,
    /// Restrict to a subset of the dataset (lite-s: Agentless's Lite-S).
    #[arg(long, value_name = "NAME")]
    pub subset: Option<String>,
    /// Folder of local clones, one per repository, named owner__name (bare or not).
    #[arg(long, value_name = "DIR")]
    pub repos: PathBuf,
    /// Output folder: predictions.jsonl and one run folder per instance.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Only the I-th of N deterministic slices of the instances (1-based), e.g. 2/4.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<agentless_swebench::infer::Shard>,
    /// Instances worked on at once, each with --workers sandboxes for validation (upstream's --max_workers).
    #[arg(long, visible_alias = "max-workers", value_name = "N", default_value_t = 1)]
    pub instance_workers: usize,
    /// Defaults for every count, temperature and timeout not given: `paper` (the original's documented SWE-bench
    /// run: 40 reproduction tests, 1200 s regression timeout) or `local` (as `agentless run`).
    #[arg(long, value_enum, default_value_t = PresetName::Paper)]
    pub preset: PresetName,
    /// Regression tests: the instance's test files at the base commit (as the original), or the pipeline's own
    /// detection from the repository (`detect`).
    #[arg(long, value_enum, default_value_t = RegressionArg::TestPatchFiles)]
    pub regression_tests: RegressionArg,
    /// A published Agentless run to re-score: its results folder as README_swebench lays it out
    /// (edit_location_individual/, repair_sample_{k}/, select_regression/). Its stages up to --replay-through
    /// replace ours for every instance; ours run from the next one.
    #[arg(long, value_name = "DIR")]
    pub agentless_results: Option<PathBuf>,
    /// The last stage taken from --agentless-results.
    #[arg(
        long,
        value_enum,
        value_name = "STAGE",
        default_value_t = ReplayThroughArg::Repair,
        requires = "agentless_results"
    )]
    pub replay_through: ReplayThroughArg,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayThroughArg {
    /// Its edit locations (loc_merged_{i}-{i}_outputs.jsonl): our repair, validation and selection.
    Localize,
    /// Its candidate patches (output_{i}_processed.jsonl): our validation and selection.
    Repair,
    /// Its regression and reproduction results: our selection only.
    Validate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetName {
    /// The original's documented SWE-bench run.
    Paper,
    /// The cheaper defaults of `agentless run`.
    Local,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegressionArg {
    /// The tests of the files the instance's test_patch modifies, run without applying it.
    TestPatchFiles,
    /// Whatever `agentless run` would detect.
    Detect,
}

#[derive(Debug, Args)]
pub struct SwebenchMergeArgs {
    /// The merged file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Shard output folders (each with a predictions.jsonl) or predictions files.
    #[arg(required = true, value_name = "DIR|FILE")]
    pub shards: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SwebenchCompareArgs {
    /// Our predictions: a predictions.jsonl, or the --out folder of `swebench infer`.
    #[arg(long, value_name = "FILE|DIR")]
    pub ours: PathBuf,
    /// Theirs: the original's all_preds.jsonl (any predictions file).
    #[arg(long, value_name = "FILE")]
    pub theirs: PathBuf,
    /// One JSON object per instance instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SwebenchCloneArgs {
    #[command(flatten)]
    pub dataset: SwebenchDatasetArgs,
    /// Folder for the clones (owner__name).
    #[arg(long, value_name = "DIR")]
    pub repos: PathBuf,
    /// Only print the commands.
    #[arg(long)]
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use agentless_localize::LocalizeOptions;
    use agentless_pipeline::SandboxOptions;
    use agentless_repair::RepairOptions;
    use clap::{CommandFactory as _, Parser as _};

    use super::*;
    use crate::config::DEFAULT_MODEL;
    use crate::preset::{LOCAL, PAPER};

    /// The help (short and long) of the argument `id` of the command at `path`.
    fn help_of(path: &[&str], id: &str) -> String {
        let mut command = Cli::command();
        command.build();
        let command = path.iter().fold(&command, |command, name| command.find_subcommand(name).unwrap());
        let arg = command.get_arguments().find(|arg| arg.get_id() == id).unwrap();
        let text = |help: Option<&clap::builder::StyledStr>| help.map(ToString::to_string).unwrap_or_default();
        format!("{}\n{}", text(arg.get_help()), text(arg.get_long_help()))
    }

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_defaults_in_the_help_are_the_ones_settings_use() {
        let (localize, repair, sandbox) =
            (LocalizeOptions::default(), RepairOptions::default(), SandboxOptions::default());
        // `run`, `action` and `swebench infer` take the preset's samples; they must agree with the libraries'.
        assert_eq!(
            (LOCAL.edit_samples, LOCAL.samples, LOCAL.temperature),
            (PAPER.edit_samples, PAPER.samples, PAPER.temperature)
        );
        assert_eq!(
            (LOCAL.edit_samples, LOCAL.samples, LOCAL.temperature),
            (localize.edit_samples, repair.samples, repair.temperature)
        );
        let expected = [
            (&["run"][..], "model", format!("[default: {DEFAULT_MODEL}]")),
            (&["run"], "edit_samples", format!("[default: {}]", LOCAL.edit_samples)),
            (&["run"], "samples", format!("[default: {}]", LOCAL.samples)),
            (&["run"], "temperature", format!("[default: {}]", LOCAL.temperature)),
            (&["run"], "workers", format!("[default: {}]", sandbox.workers)),
            (
                &["run"],
                "reproduction_tests",
                format!(
                    "[default: {}; `swebench infer --preset paper`: {}]",
                    LOCAL.reproduction_tests, PAPER.reproduction_tests
                ),
            ),
            (
                &["swebench", "infer"],
                "test_timeout",
                format!(
                    "[default: {}; `swebench infer --preset paper`: {}]",
                    LOCAL.test_timeout_secs, PAPER.test_timeout_secs
                ),
            ),
            (&["localize"], "edit_samples", format!("[default: {}]", localize.edit_samples)),
            (&["localize"], "top_n", format!("[default: {}]", localize.top_n)),
            (&["localize"], "retrieval", format!("[default: {}]", format!("{:?}", localize.retrieval).to_lowercase())),
            (&["repair"], "samples", format!("[default: {}]", repair.samples)),
            (&["repair"], "temperature", format!("[default: {}]", repair.temperature)),
        ];
        for (path, id, default) in expected {
            let help = help_of(path, id).split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(help.contains(&default), "{path:?} --{id}: `{default}` missing from `{help}`");
        }
    }

    #[test]
    fn the_model_help_names_every_key_variable() {
        let help = help_of(&["localize"], "model");
        for name in [EnvVars::OPENAI_API_KEY, EnvVars::ANTHROPIC_API_KEY, EnvVars::AGENTLESS_API_KEY] {
            assert!(help.contains(&format!("{name}=")), "{name} missing from `{help}`");
        }
    }

    #[test]
    fn swebench_flags_read_as_upstream_and_workers_means_sandboxes_everywhere() {
        let parse = |flags: &[&str]| {
            let mut argv = vec!["agentless", "swebench"];
            argv.extend(flags);
            Cli::try_parse_from(argv).map(|cli| cli.command)
        };
        let eval = ["eval", "--predictions", "gold", "--repos", "r", "--out", "o"];
        let Ok(Command::Swebench(SwebenchArgs { command: SwebenchCommand::Eval(args) })) =
            parse(&[&eval[..], &["--instances", "a", "b,c", "--max-workers", "3", "--timeout", "9"]].concat())
        else {
            panic!("eval does not parse");
        };
        assert_eq!(args.dataset.instances, ["a", "b", "c"]);
        assert_eq!((args.instance_workers, args.test_timeout, args.run_id), (3, 9, None));
        let error = parse(&[&eval[..], &["--workers", "3"]].concat()).err().unwrap();
        assert_eq!(error.kind(), clap::error::ErrorKind::UnknownArgument, "{error}");
        let infer = ["infer", "--repos", "r", "--out", "o", "--max-workers", "4", "--workers", "3"];
        let Ok(Command::Swebench(SwebenchArgs { command: SwebenchCommand::Infer(args) })) = parse(&infer) else {
            panic!("infer does not parse");
        };
        assert_eq!((args.instance_workers, args.pipeline.workers), (4, Some(3)));
    }

    #[test]
    fn ages_take_a_unit() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_age("7").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("7y").is_err());
    }
}
