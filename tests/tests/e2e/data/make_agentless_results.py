"""Writes `agentless-results/`: a published Agentless run in the original's formats (OpenAutoCoder/Agentless at
5ce5888, the folder layout of its README_swebench.md) for instance `example__tinyinvoice-1`, the bundled example.

Run from the workspace root: `python3 tests/tests/e2e/data/make_agentless_results.py`. Diffs are made with
`git diff` in a throwaway repository, as the original's `fake_git_repo` does. Nothing here imports the original.

- edit_location_individual/loc_merged_{i}-{i}_outputs.jsonl: the four edit-location samples of the example's
  transcript, one per file, `found_edit_locs = {file: ["\\n" + locations]}` as `localize.py --merge` writes them.
- repair_sample_{k}/output_{i}_processed.jsonl (k = 1..4, i = 0..1): patches A (the fix), B (the same fix spelled
  with an import), W (wrong: rounds to tenths) and one sample the original rejected (a syntax error), so that the
  interleaved order is A B A W | W - A B.
- output_{i}_regression_test_results.jsonl / output_{i}_reproduction_test_results.jsonl: W fails a regression test
  and the reproduction test; A and B pass both; the rejected sample has `regression: []` (no report.json).
- select_regression/output.jsonl, and all_preds.jsonl as rerank.py --regression --reproduction chooses: A.
"""

import json
import os
import shutil
import subprocess
import tempfile

INSTANCE = "example__tinyinvoice-1"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "agentless-results")
MONEY = "tinyinvoice/money.py"
FOUND_FILES = ["tinyinvoice/money.py", "tinyinvoice/invoice.py", "tinyinvoice/tax.py"]
EDIT_SAMPLES = [
    {MONEY: "function: Money.rounded\nline: 48"},
    {MONEY: "function: Money.rounded"},
    {MONEY: "line: 3\nline: 48"},
    {MONEY: "function: Money.rounded", "tinyinvoice/invoice.py": "function: Invoice.total"},
]
RELATED = {
    MONEY: ["class: Money\nvariable: CENT"],
    "tinyinvoice/invoice.py": ["function: Invoice.tax\nfunction: Invoice.total"],
    "tinyinvoice/tax.py": [""],
}


def git_diff(path, old, new):
    """The original's fake_git_repo: commit `old`, write `new`, `git diff`, drop the no-newline markers."""
    with tempfile.TemporaryDirectory() as repo:
        run = lambda *args: subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
        run("init", "-q")
        os.makedirs(os.path.join(repo, os.path.dirname(path)), exist_ok=True)
        with open(os.path.join(repo, path), "w") as f:
            f.write(old)
        run("add", "-A")
        run("-c", "user.name=a", "-c", "user.email=a@a", "commit", "-q", "-m", "a")
        with open(os.path.join(repo, path), "w") as f:
            f.write(new)
        diff = run("diff").stdout
    return diff.replace("\\ No newline at end of file\n", "")


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
    with open(os.path.join(root, "examples/tinyinvoice", MONEY)) as f:
        old = f.read()
    fixed = old.replace("quantize(CENT)", 'quantize(CENT, rounding="ROUND_HALF_UP")')
    imported = old.replace("from decimal import Decimal", "from decimal import ROUND_HALF_UP, Decimal").replace(
        "quantize(CENT)", "quantize(CENT, rounding=ROUND_HALF_UP)"
    )
    wrong = old.replace("quantize(CENT)", 'quantize(Decimal("0.1"))')
    broken = old.replace("def rounded(self):", "def rounded(self:")
    patches = {"A": fixed, "B": imported, "W": wrong, "-": broken}
    # (patch, regression failures, reproduction) per sample i of repair_sample_{k}.
    folders = [
        [("A", [], True), ("W", ["test_rounded_plain (tests.test_money.MoneyTests.test_rounded_plain)"], False)],
        [("B", [], True), ("-", [], False)],
        [("A", [], True), ("A", [], True)],
        [("W", ["test_rounded_plain (tests.test_money.MoneyTests.test_rounded_plain)"], False), ("B", [], True)],
    ]
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "edit_location_individual"))
    base = {
        "instance_id": INSTANCE,
        "found_files": FOUND_FILES,
        "additional_artifact_loc_file": {"raw_output_files": "\n".join(FOUND_FILES)},
        "file_traj": {"prompt": "...", "response": "...", "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
        "found_related_locs": RELATED,
        "additional_artifact_loc_related": [{"raw_output_loc": "..."}],
        "related_loc_traj": [],
        "additional_artifact_loc_edit_location": [{"raw_output_loc": ["..."] * 4}],
        "edit_loc_traj": [],
    }
    for i, sample in enumerate(EDIT_SAMPLES):
        row = dict(base, found_edit_locs={path: ["\n" + locs] for path, locs in sample.items()})
        with open(os.path.join(OUT, f"edit_location_individual/loc_merged_{i}-{i}_outputs.jsonl"), "w") as f:
            f.write(json.dumps(row) + "\n")
    for k, samples in enumerate(folders, start=1):
        folder = os.path.join(OUT, f"repair_sample_{k}")
        os.makedirs(folder)
        for i, (name, regression, reproduction) in enumerate(samples):
            new = patches[name]
            raw = git_diff(MONEY, old, new)
            row = {
                "model_name_or_path": "agentless",
                "instance_id": INSTANCE,
                "model_patch": "" if name == "-" else raw,
                "raw_model_patch": raw,
                "original_file_content": [old],
                "edited_files": [MONEY],
                "new_file_content": [new],
            }
            for suffix, extra in [
                ("processed", {}),
                ("regression_test_results", {"regression": regression}),
                ("reproduction_test_results", {"reproduction": reproduction}),
            ]:
                with open(os.path.join(folder, f"output_{i}_{suffix}.jsonl"), "w") as f:
                    f.write(json.dumps(dict(row, **extra)) + "\n")
    os.makedirs(os.path.join(OUT, "select_regression"))
    with open(os.path.join(OUT, "select_regression/output.jsonl"), "w") as f:
        tests = ["test_rounded_plain (tests.test_money.MoneyTests.test_rounded_plain)"]
        f.write(json.dumps({"instance_id": INSTANCE, "raw_output": "", "tests_passing_in_original_repo": tests}) + "\n")
    with open(os.path.join(OUT, "all_preds.jsonl"), "w") as f:
        chosen = git_diff(MONEY, old, fixed)
        f.write(json.dumps({"model_name_or_path": "agentless", "instance_id": INSTANCE, "model_patch": chosen}) + "\n")


if __name__ == "__main__":
    main()
