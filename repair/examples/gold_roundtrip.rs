//! Benchmark: SWE-bench Lite gold patches through the repair pipeline. For each instance whose repository is
//! available, the original files are read at `base_commit`, the gold patch is written as SEARCH/REPLACE edits
//! (one per hunk, the code around the hunks shown ±10 lines), and parse → apply → diff must give the gold diff
//! back byte for byte. Prints how many do, and why the others differ.
//!
//! ```text
//! cargo run --release -p agentless-repair --example gold_roundtrip -- --repos /work/.mirror \
//!     [--data /work/shared/data/swe-bench-lite.jsonl] [--show 3]
//! ```
//! `--repos` holds one git directory (bare or not) per repository, named `owner__name`, `owner+name` or
//! `owner+name/repo`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentless_localize::spans::{LineSpan, merge_spans};
use agentless_repair::patch::{FilePatch, Hunk, parse_patch};
use agentless_repair::{CandidateStatus, RepairContext, ShownFile, evaluate_answer};
use agentless_syntax::RepoSnapshot;

const CONTEXT_WINDOW: usize = 10;

struct Args {
    repos: PathBuf,
    data: PathBuf,
    show: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args =
        Args { repos: PathBuf::new(), data: PathBuf::from("/work/shared/data/swe-bench-lite.jsonl"), show: 3 };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--repos" => args.repos = PathBuf::from(value),
            "--data" => args.data = PathBuf::from(value),
            "--show" => args.show = value.parse().map_err(|_| "--show takes a number".to_owned())?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.repos.as_os_str().is_empty() {
        return Err("usage: gold_roundtrip --repos DIR [--data JSONL] [--show N]".to_owned());
    }
    Ok(args)
}

fn repository_dir(repos: &Path, repo: &str) -> Option<PathBuf> {
    let (owner, name) = repo.split_once('/')?;
    [
        repos.join(format!("{owner}__{name}")),
        repos.join(format!("{owner}+{name}/repo")),
        repos.join(format!("{owner}+{name}")),
    ]
    .into_iter()
    .find(|dir| dir.join("HEAD").exists() || dir.join(".git").exists())
}

/// The hunk's pre-image lines as the model would have to write them, and its post-image.
fn edit_text(path: &str, hunk: &Hunk) -> String {
    let search: Vec<&str> = hunk.old_lines().map(|line| line.text.as_str()).collect();
    let replace: Vec<&str> = hunk.new_lines().map(|line| line.text.as_str()).collect();
    format!("### {path}\n<<<<<<< SEARCH\n{}\n=======\n{}\n>>>>>>> REPLACE\n", search.join("\n"), replace.join("\n"))
}

/// Why our diff differs from the gold one.
fn difference(gold: &str, ours: &str) -> &'static str {
    let (gold_files, our_files) = (parse_patch(gold), parse_patch(ours));
    let hunks = |files: &[FilePatch]| files.iter().flat_map(|file| file.hunks.clone()).collect::<Vec<_>>();
    let (gold_hunks, our_hunks) = (hunks(&gold_files), hunks(&our_files));
    if gold_hunks.len() != our_hunks.len() {
        return "hunks split or joined differently";
    }
    for (gold, ours) in gold_hunks.iter().zip(&our_hunks) {
        if gold.lines != ours.lines {
            return "same change, lines placed differently by the diff algorithm";
        }
        if (gold.old_start, gold.old_len, gold.new_start, gold.new_len)
            != (ours.old_start, ours.old_len, ours.new_start, ours.new_len)
        {
            return "hunk ranges differ";
        }
        if gold.section != ours.section {
            return "function context after @@ differs";
        }
    }
    "headers differ"
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let data = match fs_err::read_to_string(&args.data) {
        Ok(data) => data,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let started = std::time::Instant::now();
    let (mut total, mut available, mut identical) = (0, 0, 0);
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in data.lines().filter(|line| !line.trim().is_empty()) {
        let Ok(row) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        total += 1;
        let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
        let (id, repo, commit, gold) = (field("instance_id"), field("repo"), field("base_commit"), field("patch"));
        let Some(dir) = repository_dir(&args.repos, &repo) else { continue };
        let snapshot = match RepoSnapshot::open(&dir, Some(&commit)) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                reasons.entry(format!("cannot open the repository: {error}")).or_default().push(id);
                continue;
            }
        };
        available += 1;
        let mut context = RepairContext::default();
        let mut answer = String::from("```python\n");
        for file in parse_patch(&gold) {
            let path = file.path().to_owned();
            let Ok(text) = snapshot.read_text(&path) else {
                reasons.entry("gold file missing at base_commit".to_owned()).or_default().push(id.clone());
                continue;
            };
            let line_count = text.lines().count();
            let spans = file.hunks.iter().map(|hunk| LineSpan {
                start: hunk.old_start.saturating_sub(CONTEXT_WINDOW).max(1),
                end: (hunk.old_start + hunk.old_len + CONTEXT_WINDOW).min(line_count),
            });
            context.files.push(ShownFile::new(path.clone(), text, merge_spans(spans.collect())));
            for hunk in &file.hunks {
                answer.push_str(&edit_text(&path, hunk));
            }
        }
        answer.push_str("```\n");
        let evaluation = evaluate_answer(&answer, &context, None);
        let reason = match (evaluation.status, &evaluation.model_patch) {
            (CandidateStatus::Ok, Some(patch)) if patch.as_str() == gold => {
                identical += 1;
                continue;
            }
            (CandidateStatus::Ok, Some(patch)) => difference(&gold, patch.as_str()).to_owned(),
            (status, _) => {
                println!("{id}: {}: {}", status.as_str(), evaluation.detail.unwrap_or_default());
                status.as_str().to_owned()
            }
        };
        reasons.entry(reason).or_default().push(id);
    }
    println!("instances: {total}, repository available: {available}, byte-identical: {identical}");
    for (reason, ids) in &reasons {
        let shown: Vec<&str> = ids.iter().take(args.show).map(String::as_str).collect();
        println!("  {:>4}  {reason}  e.g. {}", ids.len(), shown.join(", "));
    }
    eprintln!("took {:.1}s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
