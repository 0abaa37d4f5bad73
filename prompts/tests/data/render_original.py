"""Render the original Agentless prompts for the `shop` fixture, as test data for `prompts/tests/it`.

Not run in CI. Run it by hand when the fixture or the pinned original changes:

    git --git-dir=<mirror of OpenAutoCoder/Agentless> archive 5ce5888 agentless get_repo_structure \
        | tar -x -C /tmp/agentless-original
    python3 prompts/tests/data/render_original.py /tmp/agentless-original

It imports the original's modules (`agentless.fl.FL`, `agentless.repair.repair`, `agentless.test.*`) with their
network and dataset dependencies (datasets, openai, anthropic, tiktoken, pandas, tqdm, sqlfluff) replaced by empty
stubs, and calls the original's own code wherever the original builds a prompt: `LLMFL.localize(mock=True)`,
`localize_function_from_compressed_files(mock=True)` (libcst skeletons), `localize_line_from_coarse_function_locs`
(mock=True), `construct_topn_file_context` and the templates' `.format(...)` exactly as `process_loc`,
`select_test` and `gen_test` call them. It needs `libcst` (pip install libcst).

Two inputs are ours on purpose and documented in docs/fidelity.md:
- the repository structure is built with the original's `parse_python_file`, but files at the repository root stay
  at the root (the original files them under a pseudo-folder named after the clone) and every level lists files
  before folders, sorted (the original follows `os.walk` order);
- the model answers are the scripted ones of `localize/tests/it/run.rs`.
"""

import json
import logging
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "localize", "tests", "fixtures")
OUT = os.path.join(HERE, "shop")

# The scripted answers and the combined file list of localize/tests/it/run.rs.
RELATED_ANSWER = (
    "```\nshop/cart.py\nfunction: Cart.total\nvariable: TAX_RATE\n\n"
    "shop/discounts.py\nclass: PercentDiscount\nfunction: best_discount\n```"
)
EDIT_ANSWERS = [
    "```\nshop/cart.py\nfunction: Cart.total\nline: 36\n```",
    "```\nshop/cart.py\nline: 35\nline: 36\n```",
    "The percentage is fine; the order is not.\n```\nshop/discounts.py\nfunction: PercentDiscount.amount_off\n```",
    "```\nshop/cart.py\nfunction: Cart.total\n\nshop/discounts.py\nfunction: best_discount\n```",
]
# Repair also gets a sample naming discounts.py before cart.py: the original shows files in the answer's order.
REPAIR_ANSWERS = EDIT_ANSWERS + [
    "```\nshop/discounts.py\nfunction: best_discount\n\nshop/cart.py\nfunction: Cart.total\n```",
]
FOUND_FILES = ["shop/cart.py", "shop/discounts.py", "shop/payment/gateway.py", "shop/__init__.py"]
PASSING_TESTS = [
    "tests/test_cart.py::test_total_without_discount",
    "tests/test_cart.py::test_fixed_discount",
    "tests/test_cart.py::test_percent_discount_before_tax",
]


def stub_dependencies():
    for name in ["datasets", "tqdm", "anthropic", "openai", "tiktoken", "pandas", "sqlfluff"]:
        module = types.ModuleType(name)
        module.load_dataset = module.tqdm = module.lint = lambda *a, **k: None
        sys.modules[name] = module
    try:
        import libcst.display  # noqa: F401  (imported but unused by parse_global_var.py; absent before libcst 1.1)
    except ImportError:
        display = types.ModuleType("libcst.display")
        display.dump = repr
        sys.modules["libcst.display"] = display


def build_structure(parse_python_file, repo):
    """The original's per-file parse; our layout (root files at the root, files before folders, sorted)."""
    structure = {}
    for current, folders, files in os.walk(repo):
        folders.sort()
        node = structure
        relative = os.path.relpath(current, repo)
        if relative != ".":
            for part in relative.split(os.sep):
                node = node.setdefault(part, {})
        for name in sorted(files):
            if name.endswith(".py"):
                classes, functions, lines = parse_python_file(os.path.join(current, name))
                node[name] = {"classes": classes, "functions": functions, "text": lines}
            else:
                node[name] = {}

    def files_first(node):
        if "text" in node:
            return node
        files = sorted(k for k, v in node.items() if "text" in v or v == {} and "." in k)
        folders = sorted(k for k in node if k not in files)
        return {k: files_first(node[k]) for k in files + folders}

    return files_first(structure)


def main(original):
    stub_dependencies()
    sys.path.insert(0, original)
    import agentless.util.api_requests as api_requests

    api_requests.num_tokens_from_messages = lambda message, model=None: 0
    import agentless.fl.FL as FL
    import agentless.repair.repair as repair
    import agentless.test.generate_reproduction_tests as reproduction
    import agentless.test.select_regression_tests as regression
    from agentless.util.postprocess_data import extract_code_blocks, extract_locs_for_files
    from agentless.util.preprocess_data import filter_none_python, filter_out_test_files, get_repo_files
    from get_repo_structure.get_repo_structure import parse_python_file

    FL.num_tokens_from_messages = api_requests.num_tokens_from_messages
    with open(os.path.join(FIXTURES, "shop.issue.md")) as f:
        problem = f.read()
    structure = build_structure(parse_python_file, os.path.join(FIXTURES, "shop"))
    filter_none_python(structure)
    filter_out_test_files(structure)
    logger = logging.getLogger("render_original")
    fl = FL.LLMFL("shop-1", structure, problem, "gpt-4o-2024-05-13", "openai", logger)
    prompts = {}

    prompts["file_level"] = fl.localize(mock=True)[2]["prompt"]
    # localize_irrelevant(mock=True) reads a missing `self.model`; its two format lines, as the original has them:
    prompts["irrelevant_folders"] = fl.obtain_irrelevant_files_prompt.format(
        problem_statement=problem,
        structure=FL.show_project_structure(structure).strip(),
    ).strip()

    top_files = FOUND_FILES[:3]
    prompts["related_elements"] = fl.localize_function_from_compressed_files(
        top_files, mock=True, compress_assign=True
    )[2]["prompt"]
    related = extract_locs_for_files(extract_code_blocks(RELATED_ANSWER), top_files)
    prompts["edit_locations"] = fl.localize_line_from_coarse_function_locs(
        top_files, dict(related), context_window=10, add_space=False, sticky_scroll=False,
        no_line_number=False, temperature=0.8, num_samples=4, mock=True,
    )[2]["prompt"]
    # Nothing resolves: the original still asks, with no code.
    prompts["edit_locations_empty"] = fl.localize_line_from_coarse_function_locs(
        top_files, {fn: [""] for fn in top_files}, context_window=10, add_space=False, sticky_scroll=False,
        no_line_number=False, temperature=0.8, num_samples=4, mock=True,
    )[2]["prompt"]

    file_contents = get_repo_files(structure, top_files)
    for index, answer in enumerate(REPAIR_ANSWERS):
        found = extract_locs_for_files(extract_code_blocks(answer), top_files)
        # localize.py --merge: this sample only, files without locations dropped.
        merged = {fn: ["\n" + "\n".join(locs)] for fn, locs in found.items() if "\n".join(locs).strip()}
        topn_content, _ = repair.construct_topn_file_context(
            merged, top_files, file_contents, structure, context_window=10, loc_interval=True,
            fine_grain_loc_only=False, add_space=False, no_line_number=True, sticky_scroll=False,
        )
        prompts[f"repair_{index}"] = repair.repair_prompt_combine_topn_cot_diff.format(
            repair_relevant_file_instruction=repair.repair_relevant_file_instruction,
            problem_statement=problem,
            content=topn_content.rstrip(),
        ).strip()

    prompts["reproduction_test"] = reproduction.generate_tests_prompt_template.format(
        problem_statement=problem
    ).strip()
    prompts["regression_select"] = regression.select_tests_prompt_template.format(
        problem_statement=problem, passing_tests="\n".join(PASSING_TESTS)
    ).strip()

    os.makedirs(OUT, exist_ok=True)
    for name, text in prompts.items():
        with open(os.path.join(OUT, f"{name}.txt"), "w") as f:
            f.write(text)
    with open(os.path.join(OUT, "inputs.json"), "w") as f:
        json.dump({"found_files": FOUND_FILES, "related_answer": RELATED_ANSWER, "edit_answers": EDIT_ANSWERS,
                   "repair_answers": REPAIR_ANSWERS,
                   "passing_tests": PASSING_TESTS}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
