use std::collections::HashSet;

use pretty_assertions::assert_eq;

use super::*;

const CANDIDATES: [&str; 4] = ["shop/cart.py", "shop/discounts.py", "setup.py", "shop/payment/gateway.py"];

fn candidates() -> HashSet<&'static str> {
    CANDIDATES.into_iter().collect()
}

#[test]
fn path_lines_lose_their_decoration() {
    for line in [
        "shop/cart.py",
        "  `shop/cart.py`  ",
        "- shop/cart.py",
        "* ./shop/cart.py",
        "1. shop/cart.py",
        "2) \"shop/cart.py\",",
        "### shop/cart.py",
        "**shop/cart.py**:",
        "File: shop/cart.py",
        "'shop/cart.py'.",
    ] {
        assert_eq!(clean_path_line(line), "shop/cart.py", "{line:?}");
    }
    assert_eq!(clean_path_line("../shop/cart.py"), "../shop/cart.py");
}

#[test]
fn file_lists_keep_real_paths_in_order_without_duplicates() {
    let answer = "The fix is in the cart:\n```\n1. `shop/cart.py`\n2. ./shop/discounts.py\n- shop/cart.py\n\
                  shop/missing.py\nshop/payment/gateway.py\nsetup.py\n```";
    assert_eq!(
        parse_file_list(answer, &candidates(), "shop-repo", 5),
        ["shop/cart.py", "shop/discounts.py", "shop/payment/gateway.py", "setup.py"]
    );
    assert_eq!(parse_file_list(answer, &candidates(), "shop-repo", 2), ["shop/cart.py", "shop/discounts.py"]);
    // The repository name in front of a path is tolerated.
    assert_eq!(parse_file_list("shop-repo/setup.py\n", &candidates(), "shop-repo", 5), ["setup.py"]);
    assert_eq!(parse_file_list("", &candidates(), "shop-repo", 5), Vec::<String>::new());
    assert_eq!(parse_file_list("cart.py\nshop/Cart.py", &candidates(), "shop-repo", 5), Vec::<String>::new());
}

#[test]
fn folder_lists_keep_folders_and_python_files() {
    let answer = "```\ndocs/\n- `shop/payment/`\nscripts\nsetup.py\nREADME.md\n/\nsome words/\ndocs/\n```";
    assert_eq!(parse_folder_list(answer), ["docs/", "shop/payment/", "setup.py"]);
    assert_eq!(parse_folder_list("I cannot tell."), Vec::<String>::new());
}

#[test]
fn code_blocks_accept_any_fence_and_no_fence() {
    assert_eq!(extract_code_blocks("text\n```\na\nb\n```\nmore\n```python\nc\n```"), ["a\nb", "c"]);
    assert_eq!(extract_code_blocks("```\nunclosed\nblock"), ["unclosed\nblock"]);
    assert_eq!(extract_code_blocks("no fence\nat all"), ["no fence\nat all"]);
    assert_eq!(extract_code_blocks(""), [""]);
}

#[test]
fn locations_are_grouped_by_file_in_answer_order() {
    let files: Vec<String> = ["shop/cart.py", "shop/discounts.py", "setup.py"].map(str::to_owned).to_vec();
    let answer = "```\nshop/discounts.py\nclass: Discount\n- function: `best_discount()`\n\n./shop/cart.py\n\
                  function: Cart.total\nvariable: TAX_RATE\nnot a location\n\nshop/unknown.py\nclass: Ghost\n```";
    let found = locs_for_files(&extract_code_blocks(answer), &files, "shop-repo");
    let expected: FileLocs = [
        ("shop/discounts.py", "class: Discount\nfunction: best_discount"),
        ("shop/cart.py", "function: Cart.total\nvariable: TAX_RATE"),
        ("setup.py", ""),
    ]
    .into_iter()
    .map(|(file, locs)| (file.to_owned(), vec![locs.to_owned()]))
    .collect();
    assert_eq!(found, expected);
    // Locations before any file line belong nowhere.
    let orphan = locs_for_files(&["class: Cart".to_owned()], &files, "shop-repo");
    assert!(orphan.values().all(|locs| locs == &[String::new()]), "{orphan:?}");
}
