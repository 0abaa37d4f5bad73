//! Every setting of a command resolved once, in the manner of uv's `settings.rs`: flag > env (clap reads it into
//! the flag's field) > `agentless.toml` > preset > the library's default. Commands get typed options from here
//! and never look at a flag or the file again.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentless_localize::{LocalizeOptions, Retrieval, TestPaths};
use agentless_model::ModelSpec;
use agentless_model::client::{ClientOptions, EmbeddingModel};
use agentless_pipeline::{ModelRecipe, PipelineOptions, SandboxKind, SandboxOptions, ValidationOptions};
use agentless_repair::{EditRules, RepairOptions};
use agentless_sandbox::Setup;
use agentless_sandbox::docker::PythonVersion;
use agentless_sandbox::local::Containment;
use agentless_swebench::infer::{InferOptions, RegressionSource};
use anyhow::{Result, bail};

use crate::args::{
    LocalContainment, ModelArgs, PipelineArgs, PythonArg, RegressionArg, RetrievalKind, SandboxKind as SandboxArg,
    SetupArg, SwebenchInferArgs,
};
use crate::config::{DEFAULT_MODEL, FileConfig, default_cache_dir};
use crate::env::EnvVars;
use crate::preset::Preset;

/// The embedding model of `--retrieval embeddings` unless `[localize] embedding_model` names another (any provider
/// that serves OpenAI-compatible `/v1/embeddings`).
pub const DEFAULT_EMBEDDING_MODEL: &str = "openai:text-embedding-3-small";

/// `agentless run` and `agentless action`: the model and the pipeline's options.
pub struct PipelineSettings {
    pub model: ModelRecipe,
    pub pipeline: PipelineOptions,
}

impl PipelineSettings {
    /// `default_sandbox` is the command's own: local for `run`, the instance's Docker image for `swebench infer`.
    pub fn resolve(
        args: &PipelineArgs,
        config: &FileConfig,
        preset: &Preset,
        default_sandbox: SandboxArg,
    ) -> Result<Self> {
        // The preset fills what neither a flag nor the file sets.
        let edit_samples = args.edit_samples.or(config.localize.edit_samples).unwrap_or(preset.edit_samples);
        let localize = localize_options(Some(edit_samples), None, None, preset.test_paths, config)?;
        let samples = args.samples.or(config.repair.samples).unwrap_or(preset.samples);
        let temperature = args.temperature.or(config.repair.temperature).unwrap_or(preset.temperature);
        let repair = repair_options(Some(samples), Some(temperature), config);
        let pipeline = PipelineOptions::new(
            localize,
            repair,
            validation_options(args, config, preset),
            sandbox_options(args, config, default_sandbox),
        );
        let mut model = model_recipe(&args.model, config)?;
        model.options.embeddings = embedding_model(pipeline.localize.retrieval, config)?;
        Ok(Self { model, pipeline })
    }
}

/// `agentless swebench infer`: the pipeline's settings under the chosen preset, and the run over the instances.
pub struct InferSettings {
    pub pipeline: PipelineSettings,
    pub infer: InferOptions,
}

impl InferSettings {
    pub fn resolve(args: &SwebenchInferArgs, config: &FileConfig) -> Result<Self> {
        let pipeline =
            PipelineSettings::resolve(&args.pipeline, config, &Preset::named(args.preset), SandboxArg::Docker)?;
        let infer = InferOptions {
            out: args.out.clone(),
            instance_workers: args.instance_workers.max(1),
            regression_tests: match args.regression_tests {
                RegressionArg::TestPatchFiles => RegressionSource::TestPatchFiles,
                RegressionArg::Detect => RegressionSource::Detect,
            },
            // The instance's own environment unless the user said how to set one up.
            instance_environment: args.pipeline.setup.is_none() && config.validate.setup.is_none(),
            model_name: model_spec_text(&args.pipeline.model, config),
            // Read by the command once it knows the pending instances.
            replay: None,
        };
        Ok(Self { pipeline, infer })
    }
}

/// `PROVIDER:NAME` of the model.
pub fn model_spec_text(args: &ModelArgs, config: &FileConfig) -> String {
    args.model.clone().or_else(|| config.model.clone()).unwrap_or_else(|| DEFAULT_MODEL.to_owned())
}

/// The model: which provider and model, its base URL, key, cache, transcript, price and budget.
pub fn model_recipe(args: &ModelArgs, config: &FileConfig) -> Result<ModelRecipe> {
    let spec_text = model_spec_text(args, config);
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
    let cache_dir: Option<PathBuf> = (!args.no_cache)
        .then(|| args.cache_dir.clone().or_else(|| config.cache_dir.clone()).unwrap_or_else(default_cache_dir))
        .map(|dir| dir.join("responses"));
    let options = ClientOptions {
        cache_dir,
        record: args.record.clone(),
        price: config.price(&spec.model),
        max_answer_bytes: config.max_answer_bytes,
        embeddings: None,
    };
    Ok(ModelRecipe { provider, model: spec.model, options, max_cost })
}

/// The embedding model the client serves when `retrieval` asks for one: `[localize] embedding_model` or the default.
pub fn embedding_model(retrieval: Retrieval, file: &FileConfig) -> Result<Option<EmbeddingModel>> {
    match retrieval {
        Retrieval::Bm25 | Retrieval::Off => Ok(None),
        Retrieval::Embeddings => {
            let spec: ModelSpec =
                file.localize.embedding_model.as_deref().unwrap_or(DEFAULT_EMBEDDING_MODEL).parse()?;
            let provider = file.provider(&spec.provider)?;
            Ok(Some(EmbeddingModel { provider, price: file.price(&spec.model), model: spec.model }))
        }
    }
}

pub fn localize_options(
    edit_samples: Option<u32>,
    top_n: Option<usize>,
    retrieval: Option<RetrievalKind>,
    test_paths: TestPaths,
    file: &FileConfig,
) -> Result<LocalizeOptions> {
    let config = &file.localize;
    let defaults = LocalizeOptions::default();
    let retrieval = match retrieval.or(config.retrieval) {
        None => defaults.retrieval,
        Some(RetrievalKind::Bm25) => Retrieval::Bm25,
        Some(RetrievalKind::Off) => Retrieval::Off,
        Some(RetrievalKind::Embeddings) => Retrieval::Embeddings,
    };
    Ok(LocalizeOptions {
        max_model_files: config.max_model_files.unwrap_or(defaults.max_model_files),
        top_n: top_n.or(config.top_n).unwrap_or(defaults.top_n),
        context_window: config.context_window.unwrap_or(defaults.context_window),
        edit_samples: edit_samples.or(config.edit_samples).unwrap_or(defaults.edit_samples),
        edit_temperature: config.edit_temperature.unwrap_or(defaults.edit_temperature),
        related_retries: config.related_retries.unwrap_or(defaults.related_retries),
        filter_irrelevant: config.filter_irrelevant.unwrap_or(defaults.filter_irrelevant),
        retrieval,
        skeleton: defaults.skeleton,
        test_paths: config.test_paths.unwrap_or(test_paths),
    })
}

/// Repair's options; what it shares with localization (top files, context window) comes from `[localize]`.
pub fn repair_options(samples: Option<u32>, temperature: Option<f32>, file: &FileConfig) -> RepairOptions {
    let config = &file.repair;
    let defaults = RepairOptions::default();
    RepairOptions {
        samples: samples.or(config.samples).unwrap_or(defaults.samples),
        temperature: temperature.or(config.temperature).unwrap_or(defaults.temperature),
        top_n: file.localize.top_n.unwrap_or(defaults.top_n),
        context_window: file.localize.context_window.unwrap_or(defaults.context_window),
        edits: EditRules {
            unmatched: config.unmatched_edits.unwrap_or(defaults.edits.unmatched),
            syntax: config.syntax_gate.unwrap_or(defaults.edits.syntax),
        },
        ..defaults
    }
}

fn validation_options(args: &PipelineArgs, file: &FileConfig, preset: &Preset) -> ValidationOptions {
    let config = &file.validate;
    let defaults = ValidationOptions::default();
    ValidationOptions {
        test_command: args.test_cmd.clone().or_else(|| config.test_cmd.clone()),
        regression: !args.no_regression,
        reproduction_tests: args.reproduction_tests.or(config.reproduction_tests).unwrap_or(preset.reproduction_tests),
        test_timeout: Duration::from_secs(
            args.test_timeout.or(config.test_timeout_secs).unwrap_or(preset.test_timeout_secs),
        ),
        output_cap: config.output_cap.unwrap_or(defaults.output_cap),
        ..defaults
    }
}

fn sandbox_options(args: &PipelineArgs, file: &FileConfig, default_sandbox: SandboxArg) -> SandboxOptions {
    let config = &file.validate;
    let defaults = SandboxOptions::default();
    let kind = match args.sandbox.unwrap_or(default_sandbox) {
        SandboxArg::Local => SandboxKind::Local {
            containment: match args.containment {
                LocalContainment::Auto => Containment::Auto,
                LocalContainment::Bubblewrap => Containment::Bubblewrap,
                LocalContainment::None => Containment::Off,
            },
        },
        SandboxArg::Docker => SandboxKind::Docker { python: args.python.map(python_version) },
    };
    let mut pass_env = config.pass_env.clone();
    pass_env.extend(args.pass_env.iter().cloned());
    SandboxOptions {
        kind,
        workers: args.workers.or(config.workers).unwrap_or(defaults.workers).max(1),
        setup: match args.setup.clone().or_else(|| config.setup.clone()) {
            None => defaults.setup,
            Some(SetupArg::Auto) => Setup::Auto,
            Some(SetupArg::None) => Setup::Bare,
            Some(SetupArg::Command(command)) => Setup::Command(command),
        },
        pass_env,
        base_image_cache: Some(base_image_cache_in(file)),
        image_use: Some(image_use_folder(&file.cache_dir.clone().unwrap_or_else(default_cache_dir))),
    }
}

/// Where the last-use stamps of Docker images are kept (one per image id, touched when a container is created from
/// it): `image-use` in the cache directory.
pub fn image_use_folder(cache_dir: &Path) -> PathBuf {
    cache_dir.join("image-use")
}

/// The name of a `swebench eval` run: `--run-id`, else `eval-YYYYMMDD-HHMMSS` of `now` (UTC), with `-2`, `-3`, …
/// appended while `out` already holds a run of that name (its folder or a `<model>.<run-id>.json` summary), so that a
/// run never mixes with an earlier one.
pub fn eval_run_id(given: Option<&str>, out: &Path, now: SystemTime) -> String {
    if let Some(given) = given {
        return given.to_owned();
    }
    let seconds = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, time) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    let stamp = format!("eval-{year:04}{month:02}{day:02}-{:02}{:02}{:02}", time / 3600, time % 3600 / 60, time % 60);
    let names: Vec<String> = fs_err::read_dir(out)
        .map(|entries| entries.flatten().map(|entry| entry.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    let taken = |run_id: &str| names.iter().any(|name| name == run_id || name.ends_with(&format!(".{run_id}.json")));
    let mut run_id = stamp.clone();
    let mut suffix = 1;
    while taken(&run_id) {
        suffix += 1;
        run_id = format!("{stamp}-{suffix}");
    }
    run_id
}

/// The (year, month, day) of a day counted from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Where root filesystems of base images built on demand are cached: `rootfs` in the cache directory, as
/// `agentless sandbox build-image` keeps them.
pub fn base_image_cache_in(file: &FileConfig) -> PathBuf {
    file.cache_dir.clone().unwrap_or_else(default_cache_dir).join("rootfs")
}

pub fn python_version(python: PythonArg) -> PythonVersion {
    match python {
        PythonArg::Py39 => PythonVersion::Py39,
        PythonArg::Py311 => PythonVersion::Py311,
        PythonArg::Py313 => PythonVersion::Py313,
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::preset::{LOCAL, PAPER};

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        pipeline: PipelineArgs,
    }

    fn pipeline_args(flags: &[&str]) -> PipelineArgs {
        let mut argv = vec!["agentless", "--model", "replay:transcript.jsonl"];
        argv.extend(flags);
        <Cli as clap::Parser>::parse_from(argv).pipeline
    }

    #[test]
    fn swebench_infer_validates_in_docker_unless_told_otherwise() {
        #[derive(clap::Parser)]
        struct Infer {
            #[command(flatten)]
            infer: SwebenchInferArgs,
        }
        let infer = |flags: &[&str]| {
            let mut argv = vec!["agentless", "--repos", "r", "--out", "o", "--model", "replay:t.jsonl"];
            argv.extend(flags);
            let args = <Infer as clap::Parser>::parse_from(argv).infer;
            InferSettings::resolve(&args, &FileConfig::default()).unwrap().pipeline.pipeline.sandbox.kind
        };
        assert!(matches!(infer(&[]), SandboxKind::Docker { .. }), "{:?}", infer(&[]));
        assert!(matches!(infer(&["--sandbox", "local"]), SandboxKind::Local { .. }));
        let run = PipelineSettings::resolve(&pipeline_args(&[]), &FileConfig::default(), &LOCAL, SandboxArg::Local);
        assert!(matches!(run.unwrap().pipeline.sandbox.kind, SandboxKind::Local { .. }));
    }

    #[test]
    fn localize_context_window_and_top_n_reach_repair() {
        let config: FileConfig = toml::from_str("[localize]\ncontext_window = 3\ntop_n = 5\n").unwrap();
        let settings = PipelineSettings::resolve(&pipeline_args(&[]), &config, &LOCAL, SandboxArg::Local).unwrap();
        assert_eq!(settings.pipeline.localize.context_window, 3);
        assert_eq!(settings.pipeline.repair.context_window, 3, "repair shows the spans localization resolved");
        assert_eq!(settings.pipeline.repair.top_n, 5);
        // Also when repair's options are resolved alone (`agentless repair`).
        assert_eq!(repair_options(None, None, &config).context_window, 3);
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_the_preset() {
        let config: FileConfig = toml::from_str(
            "[validate]\ntest_timeout_secs = 60\nsetup = \"none\"\nworkers = 4\n[repair]\nsamples = 7\n",
        )
        .unwrap();
        let settings = PipelineSettings::resolve(
            &pipeline_args(&["--samples", "3", "--setup", "make deps"]),
            &config,
            &PAPER,
            SandboxArg::Local,
        )
        .unwrap();
        let options = &settings.pipeline;
        assert_eq!(options.repair.samples, 3);
        assert_eq!(options.validation.test_timeout, Duration::from_secs(60), "the file wins over the preset");
        assert_eq!(options.validation.reproduction_tests, 40, "the preset fills what nobody set");
        assert_eq!(options.sandbox.setup, Setup::Command("make deps".to_owned()));
        assert_eq!(options.sandbox.workers, 4);
        let local =
            PipelineSettings::resolve(&pipeline_args(&[]), &FileConfig::default(), &LOCAL, SandboxArg::Local).unwrap();
        assert_eq!(local.pipeline.validation.reproduction_tests, 10);
        assert_eq!(local.pipeline.validation.test_timeout, Duration::from_secs(600));
        assert_eq!(local.pipeline.sandbox.setup, Setup::Auto);
    }

    #[test]
    fn an_eval_run_is_named_after_its_start_unless_named_and_never_reuses_a_folder() {
        let out = tempfile::tempdir().unwrap();
        // 2026-12-02 04:20:13 UTC; 2024-02-29 23:59:59 UTC (a leap day); the epoch.
        let at = |seconds: u64| UNIX_EPOCH + Duration::from_secs(seconds);
        assert_eq!(eval_run_id(None, out.path(), at(1_796_185_213)), "eval-20261202-042013");
        assert_eq!(eval_run_id(None, out.path(), at(1_709_251_199)), "eval-20240229-235959");
        assert_eq!(eval_run_id(None, out.path(), at(0)), "eval-19700101-000000");
        fs_err::create_dir_all(out.path().join("eval-19700101-000000")).unwrap();
        fs_err::write(out.path().join("gold.eval-19700101-000000-2.json"), "{}").unwrap();
        assert_eq!(eval_run_id(None, out.path(), at(0)), "eval-19700101-000000-3");
        assert_eq!(eval_run_id(Some("eval-19700101-000000"), out.path(), at(0)), "eval-19700101-000000");
    }

    #[test]
    fn typed_values_in_the_file() {
        let config: FileConfig =
            toml::from_str("[localize]\nretrieval = \"off\"\n[validate]\nsetup = \"auto\"\n").unwrap();
        assert_eq!(config.localize.retrieval, Some(RetrievalKind::Off));
        assert_eq!(config.validate.setup, Some(SetupArg::Auto));
        let error = toml::from_str::<FileConfig>("[localize]\nretrieval = \"grep\"\n").unwrap_err().to_string();
        assert!(error.contains("bm25"), "{error}");
        let settings = PipelineSettings::resolve(
            &pipeline_args(&["--sandbox", "docker", "--python", "3.9"]),
            &config,
            &LOCAL,
            SandboxArg::Local,
        )
        .unwrap();
        assert_eq!(settings.pipeline.sandbox.kind, SandboxKind::Docker { python: Some(PythonVersion::Py39) });
    }
}
