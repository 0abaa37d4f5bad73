//! The scanner against tree-sitter and CPython on a whole repository:
//! `cargo run --release -p agentless-syntax --example scan_crosscheck -- REPO [REV] [--ast]`.
//!
//! For every Python file the scanner accepts, its structure and skeleton must equal the tree-sitter ones
//! (`parse_python`, `skeleton`); with `--ast`, its structure must also equal what CPython's `ast` sees
//! (`tests/it/ast_structure.py`, run with `python3`) for every file CPython parses. Prints the differences and a
//! summary; exits non-zero when any differ. A structure that differs from tree-sitter's but equals CPython's is not
//! counted as a difference (tree-sitter is then the one that is wrong).

use std::path::{Path, PathBuf};
use std::process::Command;

use agentless_syntax::{
    FileStructure, RepoSnapshot, SkeletonOptions, parse_python, scan_skeleton, scan_structure, skeleton,
};
use serde_json::{Value, json};

fn as_json(structure: &FileStructure) -> Value {
    let span = |name: &str, start: usize, end: usize| json!({"name": name, "start_line": start, "end_line": end});
    json!({
        "classes": structure.classes.iter().map(|class| {
            let mut value = span(&class.name, class.start_line, class.end_line);
            value["methods"] = class.methods.iter().map(|m| span(&m.name, m.start_line, m.end_line)).collect();
            value
        }).collect::<Vec<_>>(),
        "functions": structure.functions.iter().map(|f| span(&f.name, f.start_line, f.end_line)).collect::<Vec<_>>(),
        "assignments": structure.assignments.iter().map(|a| {
            json!({"names": a.names, "start_line": a.start_line, "end_line": a.end_line})
        }).collect::<Vec<_>>(),
    })
}

fn first_difference(left: &str, right: &str) -> String {
    let at = left.lines().zip(right.lines()).position(|(a, b)| a != b).unwrap_or(0);
    format!(
        "line {}: scanner {:?} / tree-sitter {:?}",
        at + 1,
        left.lines().nth(at).unwrap_or_default(),
        right.lines().nth(at).unwrap_or_default()
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let with_ast = args.iter().any(|arg| arg == "--ast");
    let positional: Vec<&String> = args.iter().filter(|arg| !arg.starts_with("--")).collect();
    let repo = PathBuf::from(positional.first().ok_or("usage: scan_crosscheck REPO [REV] [--ast]")?);
    let rev = positional.get(1).map(|rev| rev.as_str());
    let snapshot = RepoSnapshot::open(&repo, rev)?;
    let options = SkeletonOptions::default();
    let scratch = tempfile::tempdir()?;
    let (mut files, mut accepted, mut differences, mut ts_errors_accepted) = (0, 0, 0, 0);
    let mut for_ast: Vec<(PathBuf, Value, String, bool)> = Vec::new();
    let mut fallbacks = Vec::new();
    for path in snapshot.python_files() {
        let Ok(text) = String::from_utf8(snapshot.read(path)?) else { continue };
        files += 1;
        let ours = scan_structure(&text);
        let tree_sitter = parse_python(&text);
        let Some(ours) = ours else {
            fallbacks.push(format!("{path} (tree-sitter errors: {})", tree_sitter.parse_errors));
            continue;
        };
        accepted += 1;
        if tree_sitter.parse_errors > 0 {
            ts_errors_accepted += 1;
            println!("ACCEPTED WITH TREE-SITTER ERRORS {path} ({})", tree_sitter.parse_errors);
        }
        let mut expected = tree_sitter.clone();
        expected.parse_errors = 0;
        let differs_from_tree_sitter = ours != expected;
        if differs_from_tree_sitter {
            println!("STRUCTURE {path}\n  scanner     {}\n  tree-sitter {}", as_json(&ours), as_json(&expected));
            if !with_ast {
                differences += 1;
            }
        }
        let our_skeleton = scan_skeleton(&text, &options).unwrap_or_default();
        let their_skeleton = skeleton(&text, &options);
        if our_skeleton != their_skeleton && tree_sitter.parse_errors == 0 {
            differences += 1;
            println!("SKELETON {path}: {}", first_difference(&our_skeleton, &their_skeleton));
        }
        if with_ast {
            let file = scratch.path().join(format!("{}.py", for_ast.len()));
            fs_err::write(&file, &text)?;
            for_ast.push((file, as_json(&ours), path.to_owned(), differs_from_tree_sitter));
        }
    }
    let (mut ast_checked, mut tree_sitter_wrong) = (0, 0);
    if with_ast {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/ast_structure.py");
        for chunk in for_ast.chunks(500) {
            let output = Command::new("python3").arg(&script).args(chunk.iter().map(|(file, ..)| file)).output()?;
            if !output.status.success() {
                return Err(format!("ast script failed: {}", String::from_utf8_lossy(&output.stderr)).into());
            }
            let expected: Value = serde_json::from_slice(&output.stdout)?;
            for (file, ours, path, differs_from_tree_sitter) in chunk {
                let reference = &expected[file.to_str().ok_or("temporary path is not UTF-8")?];
                if reference.is_null() {
                    println!("NOT PARSED BY CPYTHON {path}");
                    differences += usize::from(*differs_from_tree_sitter);
                    continue;
                }
                ast_checked += 1;
                if reference != ours {
                    differences += 1;
                    println!("AST {path}\n  scanner {ours}\n  ast     {reference}");
                } else if *differs_from_tree_sitter {
                    tree_sitter_wrong += 1;
                    println!("  (the scanner agrees with CPython's ast there; tree-sitter does not)");
                }
            }
        }
    }
    for fallback in &fallbacks {
        println!("FALLBACK {fallback}");
    }
    println!(
        "{files} UTF-8 Python files, {accepted} read by the scanner ({} left to tree-sitter, {ts_errors_accepted} \
         accepted that tree-sitter finds errors in), {ast_checked} checked against ast, {tree_sitter_wrong} where only tree-sitter disagrees with ast, \
         {differences} differences",
        fallbacks.len()
    );
    if differences > 0 {
        return Err(format!("{differences} differences").into());
    }
    Ok(())
}
