//! `agentless swebench`: `eval` (grade predictions as the SWE-bench harness does), `infer` (the pipeline per
//! instance into predictions.jsonl, resumable and shardable), `merge` (join shards) and `clone` (fetch the
//! repositories, for users with network).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentless_candidate::Patch;
use agentless_localize::Issue;
use agentless_model::StageTotals;
use agentless_sandbox::docker::{DockerRuntime, WorkerLimits, host_pip_cert};
use agentless_swebench::eval_script::modified_files;
use agentless_swebench::predictions::{EMPTY_MODEL_NAME, Prediction, PredictionSource, Predictions};
use agentless_swebench::runner::{
    Backend, DockerBackend, EvalOptions, InstanceOutcome, InstanceSetup, RepoStore, UpstreamSpecs, clone_folder_name,
    evaluate,
};
use agentless_swebench::{DataDir, Dataset, DatasetName, Instance};
use agentless_syntax::RepoSnapshot;
use agentless_validate::selection::SelectionRule;
use anyhow::{Context, Result, bail};
use futures::StreamExt as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::ExitStatus;
use crate::args::{
    GlobalArgs, RegressionSource, SandboxKind, SwebenchArgs, SwebenchCloneArgs, SwebenchCommand, SwebenchDatasetArgs,
    SwebenchEvalArgs, SwebenchInferArgs, SwebenchMergeArgs,
};
use crate::commands::run::{PipelineOutcome, run_pipeline};
use crate::config::FileConfig;
use crate::env::EnvVars;
use crate::model::{thousands, usage_line};
use crate::preset::Preset;

pub const PREDICTIONS_FILE: &str = "predictions.jsonl";

pub async fn run(args: SwebenchArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    match args.command {
        SwebenchCommand::Eval(args) => eval(*args, progress).await,
        SwebenchCommand::Infer(args) => infer(*args, global, progress).await,
        SwebenchCommand::Merge(args) => merge(&args),
        SwebenchCommand::Clone(args) => clone(&args).await,
    }
}

/// The dataset and the instances picked with `--instances` (all when none).
fn load_dataset(args: &SwebenchDatasetArgs) -> Result<(Dataset, Vec<Instance>)> {
    let dataset = load_named_or_file(&args.dataset, args.data_dir.as_deref())?;
    let instances = pick_instances(&dataset.instances, &args.instances)?;
    Ok((dataset, instances))
}

/// A dataset file, or a named dataset from `--data-dir` (else the first `shared/data` above the current folder).
fn load_named_or_file(spec: &str, data_dir: Option<&Path>) -> Result<Dataset> {
    let path = Path::new(spec);
    if DatasetName::from_str(spec).is_err() && path.is_file() {
        return Ok(Dataset::load_file(path)?);
    }
    let data_dir = match data_dir {
        Some(path) => DataDir::new(path),
        None => DataDir::discover(&std::env::current_dir()?).with_context(|| {
            format!(
                "pass --data-dir DIR or set {} to the folder holding the datasets",
                EnvVars::AGENTLESS_SWEBENCH_DATA
            )
        })?,
    };
    Ok(Dataset::load(spec, &data_dir)?)
}

fn pick_instances(instances: &[Instance], ids: &[String]) -> Result<Vec<Instance>> {
    if ids.is_empty() {
        return Ok(instances.to_vec());
    }
    let unknown: Vec<&String> =
        ids.iter().filter(|id| !instances.iter().any(|instance| &instance.instance_id == *id)).collect();
    if !unknown.is_empty() {
        bail!("not in the dataset: {}", unknown.iter().map(|id| id.as_str()).collect::<Vec<_>>().join(", "));
    }
    Ok(instances.iter().filter(|instance| ids.contains(&instance.instance_id)).cloned().collect())
}

async fn eval(args: SwebenchEvalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let started = Instant::now();
    let (dataset, instances) = load_dataset(&args.dataset)?;
    let source = PredictionSource::parse(&args.predictions);
    let predictions = Predictions::load(&source, &instances)?;
    let unknown = predictions.unknown_ids(&dataset.instances);
    if !unknown.is_empty() {
        bail!("predictions for instances not in the dataset: {}", unknown.join(", "));
    }
    // A predictions file covers what it covers; --instances narrows it.
    let instances: Vec<Instance> = if args.dataset.instances.is_empty() {
        match source {
            PredictionSource::File(_) => {
                instances.into_iter().filter(|instance| predictions.get(&instance.instance_id).is_some()).collect()
            }
            PredictionSource::Gold | PredictionSource::Empty => instances,
        }
    } else {
        instances
    };
    let backend = match args.sandbox {
        SandboxKind::Local => Backend::Local,
        SandboxKind::Docker => Backend::docker(
            DockerRuntime::connect(DockerRuntime::new_run_id()).await?,
            WorkerLimits::default(),
            host_pip_cert().await,
        ),
    };
    let backend = Arc::new(backend);
    let options = EvalOptions {
        out: args.out.clone(),
        run_id: args.run_id.clone(),
        workers: args.workers,
        timeout: Duration::from_secs(args.timeout),
        run_empty_patches: args.run_empty || args.predictions == EMPTY_MODEL_NAME,
    };
    let repos = RepoStore::new(&args.repos);
    let total = instances.len();
    if DatasetName::from_str(&args.dataset.dataset).is_ok_and(|name| name == DatasetName::LiteS) {
        eprintln!("{}", DatasetName::LITE_S_NOTE);
    }
    eprintln!("evaluating {} on {} instances of {}", args.predictions, total, dataset.name);
    let tally = std::sync::Mutex::new((0usize, 0usize));
    progress.set_message(format!("0/{total} done"));
    let on_done = |id: &str, outcome: &InstanceOutcome, elapsed: Duration| {
        let mut tally = tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tally.0 += 1;
        tally.1 += usize::from(matches!(outcome, InstanceOutcome::Graded(report) if report.resolved));
        let (done, resolved) = *tally;
        progress.suspend(|| {
            eprintln!("[{done}/{total}] {id}: {} ({:.0} s)", outcome.verdict(), elapsed.as_secs_f64());
        });
        progress.set_message(format!("{done}/{total} done, {resolved} resolved"));
    };
    let evaluation = evaluate(
        &dataset,
        &instances,
        &predictions,
        &repos,
        Arc::clone(&backend),
        Arc::new(UpstreamSpecs),
        &options,
        &on_done,
    );
    let evaluation = tokio::select! {
        evaluation = evaluation => evaluation,
        _ = tokio::signal::ctrl_c() => Err(std::io::Error::other("interrupted").into()),
    };
    if let Backend::Docker(docker) = backend.as_ref()
        && let Err(error) = docker.runtime.shutdown().await
    {
        tracing::warn!("could not remove the run's containers: {error}");
    }
    let evaluation = evaluation?;
    progress.finish_and_clear();
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{}", evaluation.table)?;
    stdout.flush()?;
    eprintln!(
        "resolved {}/{} in {:.0} s; summary: {}",
        evaluation.summary.resolved_instances,
        evaluation.summary.total_instances,
        started.elapsed().as_secs_f64(),
        evaluation.summary_path.display()
    );
    Ok(if evaluation.summary.error_instances == 0 { ExitStatus::Success } else { ExitStatus::Failure })
}

/// `I/N` → the 0-based index and the count.
fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let parsed = text.split_once('/').and_then(|(index, count)| Some((index.parse().ok()?, count.parse().ok()?)));
    match parsed {
        Some((index, count)) if count > 0 && (1..=count).contains(&index) => Ok((index - 1, count)),
        _ => bail!("--shard must be I/N with 1 <= I <= N, not `{text}`"),
    }
}

/// The instances of shard `index` of `count`: every `count`-th instance in id order, starting at `index`.
fn shard_instances(mut instances: Vec<Instance>, index: usize, count: usize) -> Vec<Instance> {
    instances.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    instances.into_iter().enumerate().filter(|(position, _)| position % count == index).map(|(_, i)| i).collect()
}

/// The ids already in a predictions file (a torn last line, from a crash, is ignored).
fn finished_ids(path: &Path) -> Result<BTreeSet<String>> {
    if !path.is_file() {
        return Ok(BTreeSet::new());
    }
    let text = fs_err::read_to_string(path)?;
    Ok(text.lines().filter_map(|line| serde_json::from_str::<Prediction>(line).ok()).map(|p| p.instance_id).collect())
}

/// One prediction appended as a line, flushed and synced (a crash loses at most the instance in flight).
fn append_prediction(path: &Path, prediction: &Prediction) -> Result<()> {
    let mut file = fs_err::OpenOptions::new().create(true).append(true).open(path)?;
    // A torn line from a crash is closed first so it stays one unreadable line.
    let length = fs_err::metadata(path)?.len();
    if length > 0 {
        let text = fs_err::read(path)?;
        if text.last() != Some(&b'\n') {
            file.write_all(b"\n")?;
        }
    }
    file.write_all(format!("{}\n", serde_json::to_string(prediction)?).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// The regression test command of the original: the instance's test command on the files its test_patch modifies
/// (the ones that exist before it), at the base commit, without the test patch.
fn test_patch_regression_command(instance: &Instance) -> Option<String> {
    let spec = agentless_swebench::specs::spec(&instance.repo, &instance.version)?;
    let files = modified_files(&instance.test_patch);
    let probe = Instance { test_patch: String::new(), ..instance.clone() };
    let directives = agentless_swebench::test_directives(&Instance {
        test_patch: files.iter().map(|file| format!("diff --git a/{file} b/{file}\n")).collect(),
        ..probe
    });
    if directives.is_empty() {
        return None;
    }
    Some(format!("{} {}", agentless_swebench::environment::test_command(&spec), directives.join(" ")))
}

async fn infer(mut args: SwebenchInferArgs, global: &GlobalArgs, progress: &ProgressBar) -> Result<ExitStatus> {
    let (config, _) = FileConfig::load(global.config.as_deref(), None)?;
    let preset = Preset::named(args.preset);
    preset.fill(&mut args.pipeline, &config);
    eprintln!("{}", preset.describe());
    let (dataset, mut instances) = load_dataset(&args.dataset)?;
    if let Some(subset) = &args.subset {
        let keep: BTreeSet<String> = load_named_or_file(subset, args.dataset.data_dir.as_deref())?
            .instances
            .into_iter()
            .map(|instance| instance.instance_id)
            .collect();
        instances.retain(|instance| keep.contains(&instance.instance_id));
    }
    if let Some(shard) = &args.shard {
        let (index, count) = parse_shard(shard)?;
        instances = shard_instances(instances, index, count);
    }
    fs_err::create_dir_all(&args.out)?;
    let predictions_path = args.out.join(PREDICTIONS_FILE);
    let finished = finished_ids(&predictions_path)?;
    let pending: Vec<Instance> =
        instances.iter().filter(|instance| !finished.contains(&instance.instance_id)).cloned().collect();
    let lite_s = |name: &str| DatasetName::from_str(name).is_ok_and(|name| name == DatasetName::LiteS);
    if lite_s(&args.dataset.dataset) || args.subset.as_deref().is_some_and(lite_s) {
        eprintln!("{}", DatasetName::LITE_S_NOTE);
    }
    eprintln!(
        "{} instances of {}: {} finished earlier, {} to do",
        instances.len(),
        dataset.name,
        instances.len() - pending.len(),
        pending.len()
    );
    let max_cost = args.pipeline.model.max_cost.or(config.max_cost);
    // Validates the model arguments once, before any instance starts.
    crate::model::build(&args.pipeline.model, &config)?;
    let model_name = args
        .pipeline
        .model
        .model
        .clone()
        .or_else(|| config.model.clone())
        .unwrap_or_else(|| crate::config::DEFAULT_MODEL.to_owned());
    let repos = RepoStore::new(&args.repos);
    let docker = match args.pipeline.sandbox {
        SandboxKind::Docker if args.pipeline.setup.is_none() && !pending.is_empty() => Some(Backend::docker(
            DockerRuntime::connect(DockerRuntime::new_run_id()).await?,
            WorkerLimits::default(),
            host_pip_cert().await,
        )),
        SandboxKind::Docker | SandboxKind::Local => None,
    };
    let docker_backend = match &docker {
        Some(Backend::Docker(backend)) => Some(backend.as_ref()),
        Some(Backend::Local) | None => None,
    };
    let total = pending.len();
    let tally = std::sync::Mutex::new(InferTally::default());
    let lock_tally = || tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix} · {msg}") {
        progress.set_style(style);
    }
    progress.set_prefix(format!("0/{total} · {}", lock_tally().summary()));
    let budget_spent = std::sync::atomic::AtomicBool::new(false);
    let (args, config, repos) = (&args, &config, &repos);
    let one = |instance: Instance| {
        let model_args = args.pipeline.model.clone();
        let (budget_spent, tally, model_name, predictions_path) =
            (&budget_spent, &lock_tally, &model_name, &predictions_path);
        async move {
            let started = Instant::now();
            // Each instance has its own ledger (so its report counts its own calls); the run's budget is what is
            // left when it starts.
            let mut model_args = model_args;
            if let Some(limit) = max_cost {
                let left = limit - tally().totals.cost_usd;
                if left <= 0.0 {
                    budget_spent.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Ok(());
                }
                model_args.max_cost = Some(left);
            }
            let model = crate::model::build(&model_args, config)?;
            let result = infer_one(args, config, &model, repos, docker_backend, &instance, progress).await;
            let line = match result {
                Ok(outcome) => {
                    let prediction = Prediction {
                        instance_id: instance.instance_id.clone(),
                        model_name_or_path: model_name.clone(),
                        // SWE-bench's format: `""` when there is no patch.
                        model_patch: Some(outcome.chosen.clone().map(Patch::into_string).unwrap_or_default()),
                    };
                    append_prediction(predictions_path, &prediction)?;
                    let validated = matches!(
                        outcome.report.rule,
                        SelectionRule::RegressionAndReproduction | SelectionRule::ReproductionOnly
                    );
                    let mut tally = tally();
                    tally.validated += usize::from(validated && outcome.chosen.is_some());
                    tally.patches += usize::from(outcome.chosen.is_some());
                    crate::report::one_line(&outcome.report)
                }
                Err(error) => {
                    tally().failures += 1;
                    let folder = args.out.join(&instance.instance_id);
                    fs_err::create_dir_all(&folder)?;
                    fs_err::write(folder.join("error.txt"), format!("{error:#}\n"))?;
                    format!("error: {error:#}")
                }
            };
            let mut tally = tally();
            tally.add(&model.ledger.total());
            progress.set_prefix(format!("{}/{total} · {}", tally.done, tally.summary()));
            progress.suspend(|| {
                eprintln!(
                    "[{}/{total}] {}: {line} ({:.0} s)",
                    tally.done,
                    instance.instance_id,
                    started.elapsed().as_secs_f64()
                );
            });
            anyhow::Ok(())
        }
    };
    // Instances side by side (each also uses --workers sandboxes); a failure to write predictions stops the run.
    let mut runs = futures::stream::iter(pending.into_iter().map(one)).buffer_unordered(args.instance_workers.max(1));
    while let Some(result) = runs.next().await {
        result?;
    }
    drop(runs);
    let tally = tally.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    if budget_spent.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "the budget of ${:.2} is spent: {} instance(s) not started; rerun with a larger --max-cost to go on",
            max_cost.unwrap_or_default(),
            total - tally.done
        );
    }
    progress.finish_and_clear();
    if let Some(backend) = docker_backend
        && let Err(error) = backend.runtime.shutdown().await
    {
        tracing::warn!("could not remove the run's containers: {error}");
    }
    eprintln!("{}", tally.summary());
    eprintln!("model: {}", usage_line(&tally.totals));
    eprintln!("predictions: {}", predictions_path.display());
    Ok(if tally.failures == 0 { ExitStatus::Success } else { ExitStatus::Failure })
}

/// What an `infer` run has done so far, for the progress line and the closing summary.
#[derive(Debug, Default)]
struct InferTally {
    done: usize,
    patches: usize,
    /// Instances whose chosen patch passed a reproduction test with the fewest regressions.
    validated: usize,
    failures: usize,
    totals: StageTotals,
}

impl InferTally {
    fn add(&mut self, instance: &StageTotals) {
        self.done += 1;
        self.totals += instance;
    }

    fn summary(&self) -> String {
        format!(
            "{} done: {} with a patch, {} validated by a reproduction test, {} failed · {} tokens · ${:.2}",
            self.done,
            self.patches,
            self.validated,
            self.failures,
            thousands(self.totals.usage.prompt_tokens + self.totals.usage.completion_tokens),
            self.totals.cost_usd
        )
    }
}

/// The pipeline on one instance (its own run folder, resumed when it exists).
async fn infer_one(
    args: &SwebenchInferArgs,
    config: &FileConfig,
    model: &crate::model::ModelSetup,
    repos: &RepoStore,
    docker: Option<&DockerBackend>,
    instance: &Instance,
    progress: &ProgressBar,
) -> Result<PipelineOutcome> {
    let clone = repos.open(&instance.repo, &instance.base_commit)?;
    let snapshot = RepoSnapshot::open(clone.path(), Some(&instance.base_commit))?;
    let run_dir = args.out.join(&instance.instance_id);
    let mut pipeline = args.pipeline.clone();
    let mut prepared_image = None;
    if pipeline.setup.is_none() {
        match docker {
            // The instance's own image, as `eval` builds it (its environment image shared by the (repo, version)),
            // unless validation already finished in an earlier try.
            Some(docker) if !run_dir.join("validation.json").is_file() => {
                progress.set_message("validate: building the instance image");
                let setup = InstanceSetup::read(repos, &UpstreamSpecs, instance)?;
                let images = docker.instance_image(&setup.recipe()).await.context("building the instance image")?;
                fs_err::create_dir_all(run_dir.join("logs"))?;
                fs_err::write(
                    run_dir.join("logs/instance-image.log"),
                    format!(
                        "{}environment image {}\n{}instance image {}\n{}",
                        setup.log,
                        images.environment.image,
                        images.environment.setup_log,
                        images.instance.image,
                        images.instance.setup_log
                    ),
                )?;
                prepared_image = Some(images.instance);
            }
            Some(_) => {}
            None => {
                let script = InstanceSetup::single_step_script(repos, &UpstreamSpecs, instance)?;
                pipeline.setup = Some(format!("bash -c {}", agentless_swebench::environment::shell_quote(&script)));
            }
        }
    }
    if pipeline.test_cmd.is_none() && args.regression_tests == RegressionSource::TestPatchFiles {
        pipeline.test_cmd = test_patch_regression_command(instance);
    }
    let issue = Issue { id: instance.instance_id.clone(), text: instance.problem_statement.clone() };
    run_pipeline(&pipeline, config, model, &snapshot, &issue, &run_dir, true, progress, prepared_image.as_ref())
        .await
        .with_context(|| format!("{}: the pipeline failed", instance.instance_id))
}

fn merge(args: &SwebenchMergeArgs) -> Result<ExitStatus> {
    let mut merged: Vec<Prediction> = Vec::new();
    for shard in &args.shards {
        let path = if shard.is_dir() { shard.join(PREDICTIONS_FILE) } else { shard.clone() };
        let text = fs_err::read_to_string(&path)?;
        let mut read = 0usize;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            match serde_json::from_str::<Prediction>(line) {
                Ok(prediction) => {
                    merged.retain(|earlier| earlier.instance_id != prediction.instance_id);
                    merged.push(prediction);
                    read += 1;
                }
                Err(error) => tracing::warn!("{}: skipped an unreadable line: {error}", path.display()),
            }
        }
        eprintln!("{}: {read} predictions", path.display());
    }
    merged.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    let lines: Vec<String> = merged.iter().map(serde_json::to_string).collect::<Result<_, _>>()?;
    if let Some(parent) = args.out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::write(&args.out, lines.iter().map(|line| format!("{line}\n")).collect::<String>())?;
    eprintln!("{} predictions in {}", merged.len(), args.out.display());
    Ok(ExitStatus::Success)
}

async fn clone(args: &SwebenchCloneArgs) -> Result<ExitStatus> {
    let (_, instances) = load_dataset(&args.dataset)?;
    let repos: BTreeSet<&str> = instances.iter().map(|instance| instance.repo.as_str()).collect();
    fs_err::create_dir_all(&args.repos)?;
    let mut failed = Vec::new();
    for repo in repos {
        let target: PathBuf = args.repos.join(clone_folder_name(repo));
        if target.exists() {
            eprintln!("{}: exists, skipped", target.display());
            continue;
        }
        let url = format!("https://github.com/{repo}.git");
        println!("git clone --bare {url} {}", target.display());
        if args.dry_run {
            continue;
        }
        let status = tokio::process::Command::new("git")
            .args(["clone", "--bare", &url])
            .arg(&target)
            .status()
            .await
            .context("cannot run git")?;
        if !status.success() {
            failed.push(repo.to_owned());
        }
    }
    if !failed.is_empty() {
        bail!("cloning failed for {}", failed.join(", "));
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn instance(id: &str) -> Instance {
        serde_json::from_value(serde_json::json!({
            "instance_id": id, "repo": "psf/requests", "base_commit": "abc", "patch": "", "version": "2.0",
            "test_patch": "diff --git a/test_requests.py b/test_requests.py\n--- a/test_requests.py\n+++ b/test_requests.py\n@@ -1 +1,2 @@\n x\n+y\ndiff --git a/tests/new.py b/tests/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/tests/new.py\n@@ -0,0 +1 @@\n+z\n",
            "FAIL_TO_PASS": [], "PASS_TO_PASS": [], "environment_setup_commit": "abc",
        }))
        .unwrap()
    }

    #[test]
    fn shards_split_every_instance_once() {
        let ids = ["e", "a", "d", "b", "c"];
        let all: Vec<Instance> = ids.iter().map(|id| instance(id)).collect();
        let mut seen = Vec::new();
        for index in 0..2 {
            seen.extend(shard_instances(all.clone(), index, 2).into_iter().map(|i| i.instance_id));
        }
        assert_eq!(
            shard_instances(all.clone(), 0, 2).iter().map(|i| i.instance_id.as_str()).collect::<Vec<_>>(),
            ["a", "c", "e"]
        );
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        assert_eq!(parse_shard("2/4").unwrap(), (1, 4));
        assert!(parse_shard("0/4").is_err() && parse_shard("5/4").is_err() && parse_shard("x").is_err());
    }

    #[test]
    fn resume_skips_finished_instances_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PREDICTIONS_FILE);
        let prediction = |id: &str| Prediction {
            instance_id: id.to_owned(),
            model_name_or_path: "m".to_owned(),
            model_patch: Some("diff".to_owned()),
        };
        append_prediction(&path, &prediction("a")).unwrap();
        fs_err::write(&path, format!("{}{{\"instance_id\": \"b\", \"mod", fs_err::read_to_string(&path).unwrap()))
            .unwrap();
        append_prediction(&path, &prediction("c")).unwrap();
        let finished = finished_ids(&path).unwrap();
        assert_eq!(finished.into_iter().collect::<Vec<_>>(), ["a", "c"]);
    }

    #[test]
    fn regression_tests_are_the_test_patch_files_that_exist_before_it() {
        assert_eq!(test_patch_regression_command(&instance("x")).unwrap(), "pytest -rA test_requests.py");
    }

    #[test]
    fn merge_keeps_the_last_prediction_per_instance() {
        let dir = tempfile::tempdir().unwrap();
        for (shard, lines) in [
            ("s1", "{\"instance_id\": \"b\", \"model_patch\": \"old\"}\n"),
            (
                "s2",
                "{\"instance_id\": \"a\", \"model_patch\": \"x\"}\n{\"instance_id\": \"b\", \"model_patch\": \"new\"}\n",
            ),
        ] {
            fs_err::create_dir_all(dir.path().join(shard)).unwrap();
            fs_err::write(dir.path().join(shard).join(PREDICTIONS_FILE), lines).unwrap();
        }
        let out = dir.path().join("all.jsonl");
        merge(&SwebenchMergeArgs { out: out.clone(), shards: vec![dir.path().join("s1"), dir.path().join("s2")] })
            .unwrap();
        let merged = Predictions::from_file(&out).unwrap();
        assert_eq!(merged.len(), 2);
        assert_eq!(merged.get("b").unwrap().model_patch.as_deref(), Some("new"));
    }
}
