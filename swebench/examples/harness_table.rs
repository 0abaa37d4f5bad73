//! The harness check on real instances, as a table by (repository, version): whether the environment image
//! built, how many instances gold resolves, and how many empty patches leave unresolved (as they must). Reads two
//! `agentless swebench eval` runs, one of `--predictions gold` and one of `--predictions empty --run-empty`. Every
//! (repository, version) of the dataset has a row; those with no instance run say "not tried".
//!
//! `cargo run -p agentless-swebench --example harness_table -- DATA_DIR DATASET OUT GOLD_RUN_ID EMPTY_RUN_ID`
//!
//! `... --example harness_table -- ids DATA_DIR DATASET [OWNER/NAME...]` prints the first instance of every
//! (repository, version), comma-separated for `--instances`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agentless_swebench::report::{LOG_INSTANCE, LOG_REPORT};
use agentless_swebench::{DataDir, Dataset};

/// What one run did to one instance, read back from its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    NotRun,
    Resolved,
    Unresolved,
    /// The environment or instance image could not be set up: the first line of the error.
    SetupFailed(String),
    OtherError(String),
}

fn seen(folder: &Path) -> Seen {
    if let Ok(text) = fs_err::read_to_string(folder.join(LOG_REPORT)) {
        let resolved = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| value.as_object()?.values().next()?.get("resolved")?.as_bool());
        return if resolved == Some(true) { Seen::Resolved } else { Seen::Unresolved };
    }
    let Ok(log) = fs_err::read_to_string(folder.join(LOG_INSTANCE)) else { return Seen::NotRun };
    let Some(error) = log.lines().find_map(|line| line.strip_prefix("error: ")) else {
        return Seen::OtherError("no report".to_owned());
    };
    if !error.starts_with("setup step") {
        return Seen::OtherError(error.to_owned());
    }
    // The last line of the setup output that says "error" names the cause.
    let cause = log
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.to_ascii_lowercase().contains("error") && !line.starts_with("error: setup step"))
        .unwrap_or(error);
    Seen::SetupFailed(cause.to_owned())
}

#[derive(Debug, Default)]
struct Row {
    instances: usize,
    gold_run: usize,
    gold_resolved: usize,
    empty_run: usize,
    empty_unresolved: usize,
    setup_failed: usize,
    notes: Vec<String>,
    /// Totals only: environments whose image built, and those tried at all.
    built: usize,
    tried: usize,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [ids, data_dir, dataset, repos @ ..] = args.as_slice()
        && ids == "ids"
    {
        return print_first_per_version(data_dir, dataset, repos);
    }
    let [data_dir, dataset, out, gold, empty] = args.as_slice() else {
        eprintln!("usage: harness_table DATA_DIR DATASET OUT GOLD_RUN_ID EMPTY_RUN_ID");
        return ExitCode::from(2);
    };
    let dataset = match Dataset::load(dataset, &DataDir::new(data_dir)) {
        Ok(dataset) => dataset,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let out = PathBuf::from(out);
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    for instance in &dataset.instances {
        let gold_seen = seen(&out.join(gold).join("gold").join(&instance.instance_id));
        let empty_seen = seen(&out.join(empty).join("empty").join(&instance.instance_id));
        // Every (repository, version) gets a row, tried or not.
        let row = rows.entry((instance.repo.clone(), instance.version.clone())).or_default();
        row.instances += 1;
        match &gold_seen {
            Seen::NotRun => {}
            Seen::Resolved => (row.gold_run, row.gold_resolved) = (row.gold_run + 1, row.gold_resolved + 1),
            Seen::Unresolved => {
                row.gold_run += 1;
                row.notes.push(format!("{}: gold unresolved", instance.instance_id));
            }
            Seen::SetupFailed(error) => {
                row.setup_failed += 1;
                row.notes.push(format!("{}: {}", instance.instance_id, error.chars().take(90).collect::<String>()));
            }
            Seen::OtherError(error) => {
                row.notes.push(format!("{}: {}", instance.instance_id, error.chars().take(90).collect::<String>()));
            }
        }
        match &empty_seen {
            Seen::Resolved => {
                row.empty_run += 1;
                row.notes.push(format!("{}: EMPTY RESOLVED", instance.instance_id));
            }
            Seen::Unresolved => (row.empty_run, row.empty_unresolved) = (row.empty_run + 1, row.empty_unresolved + 1),
            Seen::NotRun | Seen::SetupFailed(_) | Seen::OtherError(_) => {}
        }
    }
    println!("| repository | version | image builds | gold resolves | empty stays unresolved | notes |");
    println!("|---|---|---|---|---|---|");
    let mut totals = Row::default();
    for ((repo, version), row) in &rows {
        let built = row.gold_run.max(row.empty_run);
        let builds = match (built, row.setup_failed) {
            (0, 0) => "not tried".to_owned(),
            (0, _) => "**no**".to_owned(),
            (_, 0) => "yes".to_owned(),
            (built, failed) => format!("{built}/{}", built + failed),
        };
        println!(
            "| {repo} | {version} | {builds} | {}/{} | {}/{} | {} |",
            row.gold_resolved,
            row.gold_run,
            row.empty_unresolved,
            row.empty_run,
            row.notes.join("; ").replace('|', "\\|")
        );
        totals.instances += row.instances;
        totals.gold_run += row.gold_run;
        totals.gold_resolved += row.gold_resolved;
        totals.empty_run += row.empty_run;
        totals.empty_unresolved += row.empty_unresolved;
        totals.setup_failed += row.setup_failed;
        totals.built += usize::from(built > 0);
        totals.tried += usize::from(built > 0 || row.setup_failed > 0);
    }
    println!(
        "| **{} environments, {} tried** | | {}/{} built | {}/{} | {}/{} | |",
        rows.len(),
        totals.tried,
        totals.built,
        totals.tried,
        totals.gold_resolved,
        totals.gold_run,
        totals.empty_unresolved,
        totals.empty_run
    );
    ExitCode::SUCCESS
}

fn print_first_per_version(data_dir: &str, dataset: &str, repos: &[String]) -> ExitCode {
    let dataset = match Dataset::load(dataset, &DataDir::new(data_dir)) {
        Ok(dataset) => dataset,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let ids: Vec<&str> = dataset
        .instances
        .iter()
        .filter(|instance| repos.is_empty() || repos.contains(&instance.repo))
        .filter(|instance| seen.insert((instance.repo.clone(), instance.version.clone())))
        .map(|instance| instance.instance_id.as_str())
        .collect();
    println!("{}", ids.join(","));
    ExitCode::SUCCESS
}
