//! The command line itself: help, errors, exit codes, index and skeleton output.

use crate::{agentless, example_repo, stderr, stdout};

#[test]
fn help_lists_the_commands() {
    let home = tempfile::tempdir().unwrap();
    let output = agentless(home.path(), &["--help"], &[]);
    assert!(output.status.success());
    let help = stdout(&output);
    for command in ["index", "skeleton", "localize", "repair", "run", "sandbox", "action"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    insta::assert_snapshot!("help", help);
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
