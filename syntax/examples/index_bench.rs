//! Indexing speed: `cargo run --release -p agentless-syntax --example index_bench -- REPO [REV] [CACHE_DIR]`.
//! Builds the full index (structure and skeleton of every Python file) twice with the cache in `CACHE_DIR` (a fresh
//! temporary folder when not given): the first run is cold, the second warm. Prints files, lines and seconds;
//! run it under `/usr/bin/time -v` for the peak RSS.

use std::path::PathBuf;

use agentless_syntax::{IndexOptions, RepoIndex, RepoSnapshot};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let repo = PathBuf::from(args.next().ok_or("usage: index_bench REPO [REV] [CACHE_DIR]")?);
    let rev = args.next().filter(|rev| !rev.is_empty());
    let scratch = tempfile::tempdir()?;
    let cache_dir = args.next().map_or_else(|| scratch.path().to_owned(), PathBuf::from);
    let started = std::time::Instant::now();
    let snapshot = RepoSnapshot::open(&repo, rev.as_deref())?;
    let opened = started.elapsed().as_secs_f64();
    let options = IndexOptions { cache_dir: Some(cache_dir), skeletons: true, keep_text: false };
    let cold = RepoIndex::build(&snapshot, &options)?;
    let warm_started = std::time::Instant::now();
    let warm_snapshot = RepoSnapshot::open(&repo, rev.as_deref())?;
    let warm = RepoIndex::build(&warm_snapshot, &options)?;
    let warm_total = warm_started.elapsed().as_secs_f64();
    let stats = &cold.stats;
    println!(
        "{}: {} files ({} Python), {} lines, {} classes, {} methods, {} functions, {} with parse errors",
        snapshot.name(),
        snapshot.files().len(),
        stats.files,
        stats.lines,
        stats.classes,
        stats.methods,
        stats.functions,
        stats.parse_errors
    );
    println!("open {opened:.3} s, cold index {:.3} s", stats.seconds);
    println!(
        "warm: open + index {warm_total:.3} s (index {:.3} s, {} of {} files from the cache)",
        warm.stats.seconds, warm.stats.cached_files, warm.stats.files
    );
    Ok(())
}
