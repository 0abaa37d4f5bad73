//! Every hunk of every SWE-bench Lite gold patch, written as a SEARCH/REPLACE edit over the hunk's own
//! pre-image, comes back as the post-image through parse → apply → diff.

use agentless_repair::apply::apply_edits;
use agentless_repair::diff::{FileChange, file_diff};
use agentless_repair::edits::parse_edits;
use agentless_repair::patch::{Hunk, lines_to_text, parse_patch};
use agentless_tests::REQUIRE_SWEBENCH_DATA;

#[test]
fn every_lite_gold_hunk_round_trips() {
    let root = agentless_tests::workspace_root();
    let Some(lite) =
        root.ancestors().map(|dir| dir.join("shared/data/swe-bench-lite.jsonl")).find(|lite| lite.is_file())
    else {
        let why = format!("no shared/data/swe-bench-lite.jsonl above {}", root.display());
        return agentless_tests::skip_loudly("every_lite_gold_hunk_round_trips", &why, REQUIRE_SWEBENCH_DATA);
    };
    let text = fs_err::read_to_string(lite).unwrap();
    let (mut instances, mut hunks, mut same_body) = (0, 0, 0);
    let mut failures = Vec::new();
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let (id, patch) = (row["instance_id"].as_str().unwrap(), row["patch"].as_str().unwrap());
        instances += 1;
        let mut instance_ok = true;
        for file in parse_patch(patch) {
            for hunk in &file.hunks {
                hunks += 1;
                let pre = lines_to_text(hunk.old_lines());
                let post = lines_to_text(hunk.new_lines());
                let search: Vec<&str> = hunk.old_lines().map(|line| line.text.as_str()).collect();
                let replace: Vec<&str> = hunk.new_lines().map(|line| line.text.as_str()).collect();
                let answer = format!(
                    "```python\n### {}\n<<<<<<< SEARCH\n{}\n=======\n{}\n>>>>>>> REPLACE\n```\n",
                    file.path(),
                    search.join("\n"),
                    replace.join("\n")
                );
                let edits = parse_edits(&answer);
                let [edit] = edits.as_slice() else {
                    failures.push(format!("{id}: {} edits parsed", edits.len()));
                    instance_ok = false;
                    continue;
                };
                assert_eq!(edit.path.as_deref(), Some(file.path()));
                let line_count = search.len();
                match apply_edits(&pre, std::slice::from_ref(&(0..line_count)), &[(&edit.search, &edit.replace)]) {
                    Ok(applied) if applied.text == post => {}
                    Ok(_) => {
                        failures.push(format!("{id}: wrong post-image"));
                        instance_ok = false;
                        continue;
                    }
                    Err(error) => {
                        failures.push(format!("{id}: {error}"));
                        instance_ok = false;
                        continue;
                    }
                }
                let ours = file_diff(&FileChange { path: file.path(), old: Some(&pre), new: Some(&post) });
                let our_hunks: Vec<_> = parse_patch(&ours).into_iter().flat_map(|file| file.hunks).collect();
                let our_body: Vec<_> = our_hunks.iter().flat_map(|hunk| hunk.lines.clone()).collect();
                // Our diff, applied to the pre-image, gives the post-image back.
                assert_eq!(apply_hunks(&pre, &our_hunks), post, "{id}\n{ours}");
                if our_hunks.len() == 1 && our_body == hunk.lines {
                    same_body += 1;
                }
            }
        }
        if !instance_ok {
            eprintln!("{id} failed");
        }
    }
    eprintln!(
        "{instances} instances, {hunks} hunks, {} failures, {same_body} hunks re-diffed line for line",
        failures.len()
    );
    assert_eq!(instances, 300);
    assert!(failures.is_empty(), "{failures:#?}");
    // The differ may place a change differently from git only where lines repeat; nearly every hunk matches.
    assert!(same_body * 100 >= hunks * 95, "{same_body} of {hunks}");
}

/// `pre` with the hunks (sorted, of one file) applied.
fn apply_hunks(pre: &str, hunks: &[Hunk]) -> String {
    let lines: Vec<&str> = pre.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next = 0;
    for hunk in hunks {
        let start = if hunk.old_len == 0 { hunk.old_start } else { hunk.old_start - 1 };
        out.extend(lines[next..start].iter().copied());
        out.push_str(&lines_to_text(hunk.new_lines()));
        next = start + hunk.old_len;
    }
    out.extend(lines[next..].iter().copied());
    out
}
