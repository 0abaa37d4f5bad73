use super::*;

fn plain_folder(files: &[(&str, &[u8])]) -> (tempfile::TempDir, RepoSnapshot) {
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in files {
        let full = dir.path().join(path);
        fs_err::create_dir_all(full.parent().unwrap()).unwrap();
        fs_err::write(full, bytes).unwrap();
    }
    let snapshot = RepoSnapshot::open(dir.path(), None).unwrap();
    (dir, snapshot)
}

const SHOP: &[u8] = b"class Cart:\n    def add(self, item):\n        return item\n\n    def total(self):\n        return 0\n\n\ndef checkout(cart):\n    return cart.total()\n";

#[test]
fn stats_count_every_file_class_method_and_function() {
    let (_dir, snapshot) = plain_folder(&[
        ("shop/cart.py", SHOP),
        ("shop/broken.py", b"total = (1 +\n"),
        ("shop/latin.py", b"name = '\xff'\n"),
        ("README.md", b"# not python\n"),
    ]);
    let index = RepoIndex::build(&snapshot, &IndexOptions { skeletons: true, ..IndexOptions::default() }).unwrap();
    let stats = &index.stats;
    assert_eq!((stats.files, stats.classes, stats.methods, stats.functions), (3, 1, 2, 1), "{stats:?}");
    assert_eq!(stats.parse_errors, 2, "the broken file and the undecodable one: {stats:?}");
    assert_eq!(stats.cached_files, 0);
    assert!(index.files["shop/latin.py"].not_utf8);
    let skeleton = index.files["shop/cart.py"].skeleton.as_deref().unwrap();
    assert!(skeleton.contains("def total(self):") && !skeleton.contains("return 0"), "{skeleton}");
}

#[test]
fn a_warm_cache_answers_every_file_with_the_same_structure() {
    let (_dir, snapshot) = plain_folder(&[("shop/cart.py", SHOP), ("shop/__init__.py", b"")]);
    let cache = tempfile::tempdir().unwrap();
    let options = IndexOptions { cache_dir: Some(cache.path().to_path_buf()), ..IndexOptions::default() };
    let cold = RepoIndex::build(&snapshot, &options).unwrap();
    let warm = RepoIndex::build(&snapshot, &options).unwrap();
    assert_eq!(cold.stats.cached_files, 0);
    assert_eq!(warm.stats.cached_files, 2);
    assert_eq!(warm.files["shop/cart.py"].structure, cold.files["shop/cart.py"].structure);
}

#[test]
fn the_agentless_layout_nests_folders_and_keeps_text_only_when_asked() {
    let (_dir, snapshot) = plain_folder(&[("shop/cart.py", SHOP), ("setup.cfg", b"[x]\n")]);
    let with_text = IndexOptions { keep_text: true, ..IndexOptions::default() };
    let layout = RepoIndex::build(&snapshot, &with_text).unwrap().to_agentless_json(&snapshot);
    let cart = &layout["structure"]["shop"]["cart.py"];
    assert_eq!(cart["classes"][0]["name"], "Cart");
    assert_eq!(cart["classes"][0]["methods"][1], json!({"name": "total", "start_line": 5, "end_line": 6}));
    assert_eq!(cart["functions"][0], json!({"name": "checkout", "start_line": 9, "end_line": 10}));
    assert_eq!(cart["text"][0], "class Cart:");
    assert_eq!(layout["structure"]["setup.cfg"], json!({}));
    let without_text = RepoIndex::build(&snapshot, &IndexOptions::default()).unwrap().to_agentless_json(&snapshot);
    assert!(without_text["structure"]["shop"]["cart.py"].get("text").is_none(), "{without_text}");
}

#[test]
fn lines_split_at_every_python_line_break() {
    assert_eq!(split_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
    assert_eq!(split_lines("a\n\nb\n"), ["a", "", "b"]);
    assert_eq!(split_lines("a\x0cb\n"), ["a\x0cb"], "a form feed is not a line break");
    assert!(split_lines("").is_empty());
}
