//! The command line itself: help, completions, manual pages, errors, exit codes, a closed stdout, index and
//! skeleton output.

use std::io::Read as _;
use std::process::Stdio;

use crate::{agentless, agentless_command, example_repo, stderr, stdout};

/// Every command, as the words that name it.
const COMMANDS: &[&str] = &[
    "index",
    "skeleton",
    "localize",
    "repair",
    "run",
    "sandbox",
    "sandbox build-image",
    "sandbox list",
    "sandbox prune",
    "action",
    "swebench",
    "swebench eval",
    "swebench infer",
    "swebench merge",
    "swebench compare",
    "swebench clone",
    "completions",
    "man",
];

#[test]
fn help_lists_the_commands() {
    let home = tempfile::tempdir().unwrap();
    let output = agentless(home.path(), &["--help"], &[]);
    assert!(output.status.success());
    let help = stdout(&output);
    for command in ["index", "skeleton", "localize", "repair", "run", "sandbox", "action", "completions", "man"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    insta::assert_snapshot!("help", help);
}

/// Every command's `--help`: its options, then the global ones under their own heading, then its examples.
#[test]
fn help_of_every_command() {
    let home = tempfile::tempdir().unwrap();
    for command in COMMANDS {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.push("--help");
        let output = agentless(home.path(), &args, &[]);
        assert!(output.status.success(), "{command}: {}", stderr(&output));
        let help = stdout(&output);
        assert!(help.contains("\nGlobal options:\n") && help.contains("\nExamples:\n"), "{command}:\n{help}");
        let global = help.split("\nGlobal options:\n").nth(1).unwrap_or_default();
        assert!(global.contains("--verbose") && global.contains("--help"), "{command}:\n{help}");
        insta::assert_snapshot!(format!("help_{}", command.replace(' ', "_")), help);
    }
    // -h is the summary.
    let short = agentless(home.path(), &["run", "-h"], &[]);
    insta::assert_snapshot!("help_run_short", stdout(&short));
}

#[test]
fn completions_for_every_shell_and_manual_pages() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_agentless()"),
        ("zsh", "#compdef agentless"),
        ("fish", "complete -c agentless"),
        ("elvish", "edit:completion:arg-completer[agentless]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = agentless(home.path(), &["completions", shell], &[]);
        assert!(output.status.success(), "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        assert!(script.contains(marker) && script.contains("instance-workers"), "{shell}:\n{script}");
    }
    let page = agentless(home.path(), &["man"], &[]);
    assert!(page.status.success(), "{}", stderr(&page));
    let page = stdout(&page);
    assert!(page.contains(".TH agentless 1") && page.contains("swebench"), "{page}");
    let dir = home.path().join("man1");
    let written = agentless(home.path(), &["man", "--dir", dir.to_str().unwrap()], &[]);
    assert!(written.status.success(), "{}", stderr(&written));
    for page in ["agentless.1", "agentless-run.1", "agentless-swebench-eval.1"] {
        assert!(dir.join(page).is_file(), "{page} missing from {}", dir.display());
    }
}

/// `agentless … | head`: the reader goes away, the command ends with 0 and says nothing (as ripgrep and ruff).
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let repo = tempfile::tempdir().unwrap();
    let module: String =
        (0..20_000).map(|index| format!("def function_{index}(value):\n    return value\n\n")).collect();
    fs_err::write(repo.path().join("big.py"), module).unwrap();
    let repo = repo.path().to_str().unwrap();
    for args in
        [&["skeleton", "--repo", repo, "big.py"][..], &["index", "--repo", repo, "--format", "json", "--no-cache"]]
    {
        let home = tempfile::tempdir().unwrap();
        let mut child =
            agentless_command(home.path(), args, &[]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // The reader closes before the command writes anything, so its first write fails.
        drop(child.stdout.take());
        let mut errors = String::new();
        child.stderr.take().unwrap().read_to_string(&mut errors).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{args:?}: {errors}");
        assert!(!errors.contains("error"), "{args:?}: {errors}");
    }
}

#[test]
fn skeleton_refuses_a_file_that_is_not_python() {
    let home = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    fs_err::write(repo.path().join("README.rst"), "Title\n=====\n\nclass Text:\n    pass\n").unwrap();
    let output = agentless(home.path(), &["skeleton", "--repo", repo.path().to_str().unwrap(), "README.rst"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert_eq!(stdout(&output), "");
    insta::assert_snapshot!(stderr(&output), @"error: `README.rst` is not a Python file: skeletons are made of `.py` files");
}

#[test]
fn missing_repository_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let output = agentless(home.path(), &["index", "--repo", "/nonexistent/repo"], &[]);
    assert_eq!(output.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&output), @"error: repository `/nonexistent/repo` does not exist");
}

#[test]
fn index_counts_the_example() {
    let home = tempfile::tempdir().unwrap();
    let repo = example_repo();
    let output = agentless(home.path(), &["index", "--repo", repo.to_str().unwrap(), "--no-cache"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let counts: Vec<&str> =
        text.lines().filter(|line| !line.starts_with("seconds") && !line.starts_with("peak memory")).collect();
    insta::assert_snapshot!(counts.join("\n"), @"
    repository    tinyinvoice
    files         8
    lines         199
    classes       7
    methods       22
    functions     3
    parse errors  0
    cached        0
    ");
}

#[test]
fn index_json_is_the_agentless_layout() {
    let home = tempfile::tempdir().unwrap();
    let repo = example_repo();
    let output = agentless(home.path(), &["index", "--repo", repo.to_str().unwrap(), "--format", "json"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["repo"], "tinyinvoice");
    let money = &json["structure"]["tinyinvoice"]["money.py"];
    insta::assert_json_snapshot!(money["classes"], @r#"
    [
      {
        "end_line": 15,
        "methods": [],
        "name": "CurrencyMismatch",
        "start_line": 14
      },
      {
        "end_line": 52,
        "methods": [
          {
            "end_line": 23,
            "name": "__init__",
            "start_line": 21
          },
          {
            "end_line": 26,
            "name": "__repr__",
            "start_line": 25
          },
          {
            "end_line": 33,
            "name": "__eq__",
            "start_line": 28
          },
          {
            "end_line": 37,
            "name": "_check",
            "start_line": 35
          },
          {
            "end_line": 41,
            "name": "__add__",
            "start_line": 39
          },
          {
            "end_line": 44,
            "name": "__mul__",
            "start_line": 43
          },
          {
            "end_line": 48,
            "name": "rounded",
            "start_line": 46
          },
          {
            "end_line": 52,
            "name": "format",
            "start_line": 50
          }
        ],
        "name": "Money",
        "start_line": 18
      }
    ]
    "#);
    assert_eq!(money["text"][0], "\"\"\"Money amounts as exact decimals with a currency.\"\"\"");
    assert_eq!(json["structure"]["pyproject.toml"], serde_json::json!({}));
}

#[test]
fn skeleton_of_a_file() {
    let home = tempfile::tempdir().unwrap();
    let repo = example_repo();
    let output = agentless(home.path(), &["skeleton", "--repo", repo.to_str().unwrap(), "tinyinvoice/invoice.py"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    insta::assert_snapshot!(stdout(&output), @r#"


    @dataclass
    class LineItem:
        description: str
        unit_price: Money
        quantity: int = 1

        def amount(self):
            ...


    @dataclass
    class Invoice:
        region: str
        currency: str = "EUR"
        items: list = field(default_factory=list)

        def add(self, description, unit_price, quantity=1):
            ...

        def subtotal(self):
            ...

        def tax(self):
            ...

        def total(self):
            ...

        def render(self):
            ...
    "#);
}
