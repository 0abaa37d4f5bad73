//! The examples each command's help ends with, and the environment `agentless action` reads.

use agentless_github::GithubEnvVars;
use agentless_github::env::{DEFAULT_LABEL, DEFAULT_TRIGGER};

pub const AGENTLESS: &str = "\
Examples:
  agentless run --repo . --issue issue.md > fix.diff
  agentless skeleton --repo . src/pkg/module.py
  agentless swebench eval --predictions gold --instances psf__requests-2317 --repos DIR --out eval

Use `agentless <COMMAND> --help` for the options of a command.";

pub const INDEX: &str = "\
Examples:
  agentless index --repo .
  agentless index --repo ~/src/django.git --rev 4.2 --format json > structure.json";

pub const SKELETON: &str = "\
Examples:
  agentless skeleton --repo . src/pkg/module.py
  agentless skeleton --repo ~/src/flask.git --rev 2.3.0 src/flask/app.py src/flask/cli.py";

pub const LOCALIZE: &str = "\
Examples:
  agentless localize --repo . --issue issue.md --out /tmp/run
  gh issue view 123 | agentless localize --repo . --issue - --out /tmp/run --edit-samples 2";

pub const REPAIR: &str = "\
Examples:
  agentless repair --repo . --issue issue.md --locations /tmp/run/locations.json --out /tmp/run";

pub const RUN: &str = "\
Examples:
  agentless run --repo . --issue issue.md > fix.diff
  agentless run --repo . --issue issue.md --sandbox docker --apply
  gh issue view 123 | agentless run --repo . --issue - --model anthropic:claude-3-5-sonnet-20241022
  agentless run --repo . --issue issue.md --model openai-compatible:qwen2.5-coder \\
      --base-url http://localhost:8000/v1";

pub const SANDBOX: &str = "\
Examples:
  sudo agentless sandbox build-image --python 3.11
  agentless sandbox list
  agentless sandbox prune --older-than 7d --keep-environments --dry-run";

pub const SANDBOX_BUILD_IMAGE: &str = "\
Examples:
  sudo agentless sandbox build-image --python 3.11
  agentless sandbox build-image --python 3.11 --from python:3.11-slim";

pub const SANDBOX_LIST: &str = "\
Examples:
  agentless sandbox list
  agentless sandbox list --json | jq '.images[] | select(.kind == \"instance\")'";

pub const SANDBOX_PRUNE: &str = "\
Examples:
  agentless sandbox prune --dry-run                       # what would go, and the bytes it would free
  agentless sandbox prune --older-than 7d --keep-environments
  agentless sandbox prune --repository django/django
  agentless sandbox prune --all                           # base images too";

pub const ACTION: &str = "\
Examples:
  agentless action --out \"$RUNNER_TEMP/agentless\"    # in a workflow step; see action.yml";

pub const SWEBENCH: &str = "\
Examples:
  agentless swebench clone --dataset lite --repos DIR
  agentless swebench infer --dataset lite --subset lite-s --repos DIR --out runs/lite-s
  agentless swebench eval --predictions runs/lite-s/predictions.jsonl --repos DIR --out eval
  agentless swebench merge --out all.jsonl runs/shard-*";

pub const SWEBENCH_EVAL: &str = "\
Examples:
  agentless swebench eval --predictions gold --instances psf__requests-2317 --repos DIR --out eval
  agentless swebench eval --predictions runs/lite-s/predictions.jsonl --repos DIR --out eval \\
      --run-id lite-s --max-workers 4";

pub const SWEBENCH_INFER: &str = "\
Examples:
  agentless swebench infer --dataset lite --subset lite-s --repos DIR --out runs/lite-s
  agentless swebench infer --instances django__django-11099 pytest-dev__pytest-5227 --repos DIR \\
      --out runs/two --preset local --instance-workers 2
  agentless swebench infer --repos DIR --out runs/rescore --agentless-results results/swe-bench-lite \\
      --replay-through repair";

pub const SWEBENCH_COMPARE: &str = "\
Examples:
  agentless swebench compare --ours runs/rescore --theirs all_preds.jsonl
  agentless swebench compare --ours runs/rescore/predictions.jsonl --theirs all_preds.jsonl --json";

pub const SWEBENCH_MERGE: &str = "\
Examples:
  agentless swebench merge --out all.jsonl runs/shard-1 runs/shard-2 runs/shard-3";

pub const SWEBENCH_CLONE: &str = "\
Examples:
  agentless swebench clone --dataset lite --repos ~/swebench-repos --dry-run";

pub const COMPLETIONS: &str = "\
Examples:
  agentless completions bash > ~/.local/share/bash-completion/completions/agentless
  agentless completions zsh > ~/.zfunc/_agentless
  agentless completions fish > ~/.config/fish/completions/agentless.fish";

pub const MAN: &str = "\
Examples:
  agentless man | man -l -
  agentless man --dir ~/.local/share/man/man1";

/// `agentless action --help`: the examples, then every variable the bot reads.
pub fn action_long() -> String {
    let names = [
        GithubEnvVars::GITHUB_EVENT_NAME,
        GithubEnvVars::GITHUB_EVENT_PATH,
        GithubEnvVars::GITHUB_REPOSITORY,
        GithubEnvVars::GITHUB_WORKSPACE,
        GithubEnvVars::GITHUB_TOKEN,
        GithubEnvVars::GITHUB_API_URL,
        GithubEnvVars::GITHUB_SERVER_URL,
        GithubEnvVars::GITHUB_RUN_ID,
        GithubEnvVars::GITHUB_STEP_SUMMARY,
        GithubEnvVars::GITHUB_OUTPUT,
    ];
    format!(
        "{ACTION}\n\nEnvironment (set by GitHub Actions and action.yml):\n  {}\n  {} [default: {DEFAULT_LABEL}]\n  {} \
         [default: {DEFAULT_TRIGGER}]\n  {} [default: the `origin` remote]",
        names.join(", "),
        GithubEnvVars::AGENTLESS_LABEL,
        GithubEnvVars::AGENTLESS_TRIGGER,
        GithubEnvVars::AGENTLESS_PUSH_URL,
    )
}
