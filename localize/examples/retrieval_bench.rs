//! The per-instance cost of BM25 retrieval: open a snapshot, read and chunk every non-test `.py` file, rank them
//! against an issue. Prints the seconds of each step and the top files.
//!
//! ```text
//! cargo run --release -p agentless-localize --example retrieval_bench -- REPO REV ISSUE_TEXT_OR_FILE
//! ```
//! `REV` may be `-` for a work tree or plain folder; `ISSUE_TEXT_OR_FILE` is read as a file when one exists.

use std::path::Path;
use std::time::Instant;

use agentless_localize::retrieval::Corpus;
use agentless_localize::tree::shown_files;
use agentless_syntax::RepoSnapshot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, rev, issue] = args.as_slice() else {
        return Err("usage: retrieval_bench REPO REV ISSUE_TEXT_OR_FILE".into());
    };
    let issue = match Path::new(issue).is_file() {
        true => fs_err::read_to_string(issue)?,
        false => issue.clone(),
    };
    let rev = (rev != "-").then_some(rev.as_str());

    let start = Instant::now();
    let snapshot = RepoSnapshot::open(Path::new(repo), rev)?;
    let opened = start.elapsed().as_secs_f64();
    let paths = shown_files(&snapshot, agentless_localize::TestPaths::AnyComponent);
    let corpus = Corpus::build(&snapshot, &paths)?;
    let built = start.elapsed().as_secs_f64();
    let ranked = corpus.rank_bm25(&issue);
    let total = start.elapsed().as_secs_f64();

    println!("files {} chunks {}", corpus.file_count(), corpus.chunk_count());
    println!("open {opened:.3}s  read+chunk {:.3}s  rank {:.3}s  total {total:.3}s", built - opened, total - built);
    for path in ranked.iter().take(5) {
        println!("  {path}");
    }
    Ok(())
}
