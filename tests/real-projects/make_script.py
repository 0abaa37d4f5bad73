#!/usr/bin/env python3
"""Write each case's script.json: the answers a good model would give, derived from the upstream fix.

    python3 tests/real-projects/make_script.py --mirrors /work/.mirror [CASE ...]

Reads case.toml (repository, base, fix, [locations]), issue.md and reproduce.py of every case folder beside this
file, and the upstream diff of the located (non-test) files from the mirror DIR/owner+name/repo (or DIR/owner+name).
The repair answer is one SEARCH/REPLACE edit per upstream hunk (its context and removed lines, then its context and
added lines), checked to match exactly once in the base file. A second repair sample, the decoy, only adds a comment
above the first hunk: it applies but does not fix the issue, so selection has a wrong candidate to reject.
"""

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent


def mirror_of(mirrors: Path, repository: str) -> Path:
    owner_name = repository.replace("/", "+")
    for candidate in (mirrors / owner_name / "repo", mirrors / owner_name):
        if candidate.exists():
            return candidate
    sys.exit(f"no mirror of {repository} under {mirrors}")


def git(mirror: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(mirror), *args], check=True, capture_output=True, text=True).stdout


def hunks(diff: str) -> list[tuple[list[str], list[str]]]:
    """(before, after) line lists of each hunk of a one-file unified diff."""
    result = []
    for block in diff.split("\n@@")[1:]:
        before, after = [], []
        for line in block.rstrip("\n").split("\n")[1:]:
            if line.startswith("\\"):
                continue
            marker, text = (line[:1], line[1:]) if line else (" ", "")
            if marker in " -":
                before.append(text)
            if marker in " +":
                after.append(text)
        result.append((before, after))
    return result


def edit(path: str, before: list[str], after: list[str]) -> str:
    search, replace = "\n".join(before), "\n".join(after)
    return f"```python\n### {path}\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```"


def build(case_dir: Path, mirrors: Path) -> dict:
    case = tomllib.loads((case_dir / "case.toml").read_text())
    mirror = mirror_of(mirrors, case["repository"])
    locations: dict[str, list[str]] = case["locations"]
    edits, decoy = [], None
    for path in locations:
        base_text = git(mirror, "show", f"{case['base']}:{path}")
        diff = git(mirror, "diff", "-U3", case["base"], case["fix"], "--", path)
        if not diff:
            sys.exit(f"{case_dir.name}: the fix does not change {path}")
        for before, after in hunks(diff):
            count = base_text.count("\n".join(before) + "\n")
            if count != 1:
                sys.exit(f"{case_dir.name}: a SEARCH block of {path} matches {count} times")
            edits.append(edit(path, before, after))
            if decoy is None:
                first = next(line for line in before if line.strip())
                indent = first[: len(first) - len(first.lstrip())]
                decoy = edit(path, before, [f"{indent}# Checked for the issue: nothing to change here.", *before])
    files = "\n".join(locations)
    related = "\n\n".join(f"{path}\n" + "\n".join(entries) for path, entries in locations.items())
    reproduce = (case_dir / "reproduce.py").read_text().rstrip("\n")
    excluded = "\n".join(case.get("exclude_tests", []))
    return {
        "stages": {
            "localize.file": [[f"The fix belongs in:\n```\n{files}\n```"]],
            "localize.irrelevant": [["```\ndocs/\n```"]],
            "localize.related": [[f"```\n{related}\n```"]],
            "localize.edit": [[f"```\n{related}\n```"]],
            "repair": [["\n\n".join(edits), decoy]],
            "validate.reproduce": [[f"```python\n{reproduce}\n```"]],
            "validate.regression": [[f"Tests the fix may rightly change:\n```\n{excluded}\n```"]],
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, required=True)
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    names = args.cases or sorted(path.parent.name for path in HERE.glob("*/case.toml"))
    for name in names:
        script = build(HERE / name, args.mirrors)
        (HERE / name / "script.json").write_text(json.dumps(script, indent=2) + "\n")
        print(f"{name}: {len(script['stages']['repair'][0][0].split('<<<<<<< SEARCH')) - 1} edit(s)")


if __name__ == "__main__":
    main()
