//! Benchmark (issue #14): `agentless run` on real bug-fix commits of real Python projects, in the local and Docker
//! sandboxes, against the scripted answers of `tests/real-projects/<case>/script.json`. Prints one Markdown row per
//! case and sandbox: setup, tests passing on the baseline, regression tests run, reproduction tests kept, whether the
//! chosen diff is the upstream change, wall time. Not a CI test: it needs fetched repositories and PyPI for setup.
//!
//! ```text
//! cargo build --bin agentless
//! cargo run -p agentless-tests --example real_projects -- --mirrors /work/.mirror \
//!     [--sandbox local|docker|both] [--json rows.json] [--work DIR] [--agentless PATH] [CASE ...]
//! ```
//! `--mirrors` holds one git directory (bare or not) per repository, named `owner+name/repo`, `owner+name` or
//! `owner__name`. Each case is cloned at its base commit into `--work` (default: a folder under the system's temporary
//! directory, kept for inspection), and each run's directory is `WORK/runs/<case>-<sandbox>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use agentless_tests::{Script, ScriptedModelServer};
use serde::{Deserialize, Serialize};

const USAGE: &str = "usage: real_projects --mirrors DIR [--sandbox local|docker|both] [--json FILE] [--work DIR] \
                     [--agentless PATH] [CASE ...]";

struct Args {
    mirrors: PathBuf,
    sandboxes: Vec<&'static str>,
    json: Option<PathBuf>,
    work: PathBuf,
    agentless: PathBuf,
    cases: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args = Args {
        mirrors: PathBuf::new(),
        sandboxes: vec!["local", "docker"],
        json: None,
        work: std::env::temp_dir().join("agentless-real-projects"),
        agentless: workspace.join("target/debug/agentless"),
        cases: Vec::new(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(word) = given.next() {
        if !word.starts_with("--") {
            args.cases.push(word);
            continue;
        }
        let value = given.next().ok_or(format!("{word} needs a value\n{USAGE}"))?;
        match word.as_str() {
            "--mirrors" => args.mirrors = PathBuf::from(value),
            "--sandbox" => {
                args.sandboxes = match value.as_str() {
                    "local" => vec!["local"],
                    "docker" => vec!["docker"],
                    "both" => vec!["local", "docker"],
                    _ => return Err(format!("--sandbox is local, docker or both, not {value}")),
                }
            }
            "--json" => args.json = Some(PathBuf::from(value)),
            "--work" => args.work = PathBuf::from(value),
            "--agentless" => args.agentless = PathBuf::from(value),
            _ => return Err(format!("unknown flag {word}\n{USAGE}")),
        }
    }
    if args.mirrors.as_os_str().is_empty() {
        return Err(USAGE.to_owned());
    }
    Ok(args)
}

/// `case.toml`: where the fix is, and the non-test files it changes (the keys of `locations`).
#[derive(Deserialize)]
struct Case {
    repository: String,
    fix: String,
    base: String,
    shape: String,
    locations: BTreeMap<String, Vec<String>>,
    /// Extra `agentless run` arguments a user of this project would give (a narrower `--test-cmd`).
    #[serde(default)]
    run_args: Vec<String>,
}

/// One (case, sandbox) result.
#[derive(Serialize)]
struct Row {
    case: String,
    repository: String,
    shape: String,
    base: String,
    sandbox: String,
    /// The run got past setup (the sandbox was ready and validation ran).
    setup_ok: bool,
    /// Tests that passed on the original (the baseline).
    baseline_passing: Option<u64>,
    /// Of those, the regression tests run on every candidate.
    regression_tests_run: Option<u64>,
    reproduction_tests_kept: Option<u64>,
    /// The chosen diff changes the same lines of the same files as the upstream fix (whitespace ignored).
    matches_upstream: bool,
    seconds: f64,
    exit_code: Option<i32>,
    /// Why the row is not green: the run's error, degradations, or how the diff differs.
    notes: Vec<String>,
}

impl Row {
    fn green(&self) -> bool {
        self.setup_ok
            && self.regression_tests_run.is_some_and(|count| count > 0)
            && self.reproduction_tests_kept == Some(1)
            && self.matches_upstream
    }

    fn markdown(&self) -> String {
        let count = |value: Option<u64>| value.map_or("–".to_owned(), |count| count.to_string());
        let yes = |value: bool| if value { "yes" } else { "**no**" };
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} s | {} |",
            if self.green() { "green" } else { "**red**" },
            self.case,
            self.sandbox,
            yes(self.setup_ok),
            count(self.baseline_passing),
            count(self.regression_tests_run),
            count(self.reproduction_tests_kept),
            yes(self.matches_upstream),
            self.seconds,
            self.notes.join("; ").replace('|', "\\|").replace('\n', " "),
        )
    }
}

fn mirror_of(mirrors: &Path, repository: &str) -> Option<PathBuf> {
    let (owner, name) = repository.split_once('/')?;
    [
        mirrors.join(format!("{owner}+{name}/repo")),
        mirrors.join(format!("{owner}+{name}")),
        mirrors.join(format!("{owner}__{name}")),
    ]
    .into_iter()
    .find(|dir| dir.join("HEAD").exists() || dir.join(".git").exists())
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if !output.status.success() {
        return Err(format!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A fresh clone of `mirror` checked out (detached) at `commit`.
fn clone_at(mirror: &Path, commit: &str, dest: &Path) -> Result<(), String> {
    if dest.exists() {
        fs_err::remove_dir_all(dest).map_err(|error| error.to_string())?;
    }
    let parent = dest.parent().ok_or("the clone has no parent folder")?;
    fs_err::create_dir_all(parent).map_err(|error| error.to_string())?;
    git(parent, &["clone", "--quiet", "--no-checkout", &mirror.to_string_lossy(), &dest.to_string_lossy()])?;
    git(dest, &["checkout", "--quiet", "--detach", commit])?;
    Ok(())
}

/// The changed lines of a unified diff, per file, whitespace removed: `-` and `+` lines in order.
fn changed_lines(diff: &str) -> BTreeMap<String, Vec<String>> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            let path = path.strip_prefix("b/").unwrap_or(path).to_owned();
            files.entry(path.clone()).or_default();
            current = Some(path);
        } else if line.starts_with("--- ") || line.starts_with("diff ") || line.starts_with("@@") {
            continue;
        } else if let Some(path) = &current
            && (line.starts_with('+') || line.starts_with('-'))
        {
            let text: String = line.chars().filter(|character| !character.is_whitespace()).collect();
            files.entry(path.clone()).or_default().push(text);
        }
    }
    files
}

/// How the chosen diff differs from the upstream one, if it does.
fn diff_difference(chosen: &str, upstream: &str) -> Option<String> {
    let (chosen, upstream) = (changed_lines(chosen), changed_lines(upstream));
    if chosen == upstream {
        return None;
    }
    if chosen.is_empty() {
        return Some("no patch chosen".to_owned());
    }
    let files: Vec<&String> = chosen.keys().collect();
    let wanted: Vec<&String> = upstream.keys().collect();
    if files != wanted {
        return Some(format!("chosen diff changes {files:?}, upstream {wanted:?}"));
    }
    let differing: Vec<&String> = chosen.keys().filter(|path| chosen.get(*path) != upstream.get(*path)).collect();
    Some(format!("chosen diff changes other lines than upstream in {differing:?}"))
}

async fn run_case(args: &Args, cases_dir: &Path, name: &str, sandbox: &str) -> Result<Row, String> {
    let case_dir = cases_dir.join(name);
    let case: Case =
        toml::from_str(&fs_err::read_to_string(case_dir.join("case.toml")).map_err(|error| error.to_string())?)
            .map_err(|error| format!("{name}/case.toml: {error}"))?;
    let mirror = mirror_of(&args.mirrors, &case.repository).ok_or(format!(
        "no mirror of {} under {}",
        case.repository,
        args.mirrors.display()
    ))?;
    let clone = args.work.join("clones").join(format!("{name}-{sandbox}"));
    clone_at(&mirror, &case.base, &clone)?;
    let files: Vec<&str> = case.locations.keys().map(String::as_str).collect();
    let upstream =
        git(&mirror, &[&["diff", case.base.as_str(), case.fix.as_str(), "--"][..], files.as_slice()].concat())?;

    let script = Script::load(&case_dir.join("script.json")).map_err(|error| format!("{name}/script.json: {error}"))?;
    let server = ScriptedModelServer::start(script).await;
    let run_dir = args.work.join("runs").join(format!("{name}-{sandbox}"));
    if run_dir.exists() {
        fs_err::remove_dir_all(&run_dir).map_err(|error| error.to_string())?;
    }
    let started = Instant::now();
    let output = tokio::process::Command::new(&args.agentless)
        .arg("run")
        .arg("--repo")
        .arg(&clone)
        .arg("--issue")
        .arg(case_dir.join("issue.md"))
        .arg("--out")
        .arg(&run_dir)
        .args(["--model", "openai-compatible:scripted", "--base-url", &server.base_url(), "--no-cache"])
        .args(["--sandbox", sandbox])
        .args(&case.run_args)
        .env("AGENTLESS_NO_PROGRESS", "1")
        .output()
        .await
        .map_err(|error| format!("cannot run {}: {error}", args.agentless.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    fs_err::write(run_dir.with_extension("stderr.log"), &output.stderr).map_err(|error| error.to_string())?;

    let mut row = Row {
        case: name.to_owned(),
        repository: case.repository,
        shape: case.shape,
        base: case.base,
        sandbox: sandbox.to_owned(),
        setup_ok: false,
        baseline_passing: None,
        regression_tests_run: None,
        reproduction_tests_kept: None,
        matches_upstream: false,
        seconds,
        exit_code: output.status.code(),
        notes: Vec::new(),
    };
    let report: Option<serde_json::Value> =
        fs_err::read_to_string(run_dir.join("report.json")).ok().and_then(|text| serde_json::from_str(&text).ok());
    let Some(report) = report else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().filter(|line| !line.trim().is_empty()).take(3).collect::<Vec<_>>();
        row.notes.push(format!("no report.json: {}", last.into_iter().rev().collect::<Vec<_>>().join(" / ")));
        return Ok(row);
    };
    row.setup_ok = !report["isolation"].is_null();
    row.baseline_passing = report["regression_passing"].as_u64();
    row.regression_tests_run = report["validation_strength"]["regression_tests_run"].as_u64();
    row.reproduction_tests_kept = report["validation_strength"]["reproduction_tests_kept"].as_u64();
    if let Some(problem) = report["validation_strength"]["baseline"]["problem"].as_str() {
        row.notes.push(format!("baseline: {problem}"));
    }
    for degradation in report["degradations"].as_array().into_iter().flatten() {
        row.notes.push(degradation.as_str().unwrap_or_default().to_owned());
    }
    let chosen = fs_err::read_to_string(run_dir.join("final.diff")).unwrap_or_default();
    match diff_difference(&chosen, &upstream) {
        None => row.matches_upstream = true,
        Some(difference) => row.notes.push(difference),
    }
    Ok(row)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("real-projects");
    let mut names = args.cases.clone();
    if names.is_empty() {
        let entries = match fs_err::read_dir(&cases_dir) {
            Ok(entries) => entries,
            Err(error) => {
                eprintln!("{error}");
                return ExitCode::FAILURE;
            }
        };
        names = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("case.toml").exists())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
    }
    println!(
        "| | case | sandbox | setup | passing on baseline | regression tests run | reproduction kept | \
         diff = upstream | wall | notes |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut rows = Vec::new();
    let mut failed = false;
    for sandbox in &args.sandboxes {
        for name in &names {
            eprintln!("running {name} in the {sandbox} sandbox");
            match run_case(&args, &cases_dir, name, sandbox).await {
                Ok(row) => {
                    println!("{}", row.markdown());
                    failed |= !row.green();
                    rows.push(row);
                }
                Err(message) => {
                    eprintln!("{name} ({sandbox}): {message}");
                    failed = true;
                }
            }
        }
    }
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&rows)
            .map_err(|error| error.to_string())
            .and_then(|json| fs_err::write(path, json + "\n").map_err(|error| error.to_string()));
        if let Err(message) = written {
            eprintln!("cannot write {}: {message}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_that_differ_only_in_whitespace_and_context_match() {
        let upstream = "diff --git a/src/m.py b/src/m.py\n--- a/src/m.py\n+++ b/src/m.py\n@@ -1,3 +1,3 @@\n a = 1\n-b = 2\n+b = 3\n c = 4\n";
        let chosen = "--- a/src/m.py\n+++ b/src/m.py\n@@ -2 +2 @@\n-b = 2\n+b  =  3\n";
        assert_eq!(diff_difference(chosen, upstream), None);
        let other = "--- a/src/m.py\n+++ b/src/m.py\n@@ -2 +2 @@\n-b = 2\n+b = 4\n";
        assert!(diff_difference(other, upstream).is_some());
        assert_eq!(diff_difference("", upstream).as_deref(), Some("no patch chosen"));
    }
}
