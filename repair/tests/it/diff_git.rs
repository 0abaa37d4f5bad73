//! Property test of the differ: for random pairs of files (repeated lines, missing final newlines, empty, new
//! and deleted files), `git apply` of `diff(a, b)` to `a` gives `b`.

use agentless_repair::diff::{FileChange, file_diff};

use crate::support::git_apply;

const CASES: usize = 120;
const ALPHABET: [&str; 6] = ["a", "b", "    c", "", "def f():", "    return 1"];

fn random_file(rng: &mut fastrand::Rng) -> Option<String> {
    if rng.u8(..10) == 0 {
        return None;
    }
    let lines: Vec<&str> = (0..rng.usize(..25)).map(|_| ALPHABET[rng.usize(..ALPHABET.len())]).collect();
    let mut text = lines.join("\n");
    if !text.is_empty() && rng.bool() {
        text.push('\n');
    }
    Some(text)
}

/// `old` with a few random lines inserted, deleted or replaced, and its final newline maybe toggled.
fn mutate(rng: &mut fastrand::Rng, old: &str) -> String {
    let mut lines: Vec<String> = old.lines().map(str::to_owned).collect();
    for _ in 0..rng.usize(1..5) {
        let at = rng.usize(..=lines.len());
        match rng.u8(..3) {
            0 => lines.insert(at, ALPHABET[rng.usize(..ALPHABET.len())].to_owned()),
            1 if at < lines.len() => {
                lines.remove(at);
            }
            _ if at < lines.len() => lines[at] = format!("x{}", rng.u8(..)),
            _ => lines.push("tail".to_owned()),
        }
    }
    let mut text = lines.join("\n");
    let final_newline = if rng.u8(..4) == 0 { !old.ends_with('\n') } else { old.ends_with('\n') };
    if final_newline && !text.is_empty() {
        text.push('\n');
    }
    text
}

#[test]
fn git_apply_of_our_diff_gives_the_new_file() {
    let mut rng = fastrand::Rng::with_seed(20_240_701);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.py");
    let mut applied = 0;
    for case in 0..CASES {
        let old = random_file(&mut rng);
        let new = match (&old, rng.u8(..8)) {
            (Some(_), 0) => None,
            (Some(old), _) => Some(mutate(&mut rng, old)),
            (None, _) => random_file(&mut rng).or_else(|| Some("a\n".to_owned())),
        };
        if old == new {
            continue;
        }
        let _ = fs_err::remove_file(&path);
        if let Some(old) = &old {
            fs_err::write(&path, old).unwrap();
        }
        let patch = file_diff(&FileChange { path: "f.py", old: old.as_deref(), new: new.as_deref() });
        if let Err(error) = git_apply(dir.path(), &patch, false) {
            panic!("case {case}: git apply failed: {error}\nold: {old:?}\nnew: {new:?}\n{patch}");
        }
        match &new {
            Some(new) => assert_eq!(&fs_err::read_to_string(&path).unwrap(), new, "case {case}\n{patch}"),
            None => assert!(!path.exists(), "case {case}: not deleted\n{patch}"),
        }
        applied += 1;
    }
    assert!(applied > CASES * 3 / 4, "{applied}");
}
