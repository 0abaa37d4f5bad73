//! Repository snapshots built on the fly (work tree, bare, plain folder) and the index built over them.

use std::path::Path;

use agentless_syntax::{IndexOptions, RepoIndex, RepoSnapshot, SourceError, SourceKind};
use git2::{Repository, Signature};
use pretty_assertions::assert_eq;

fn write(root: &Path, path: &str, content: &[u8]) {
    let full = root.join(path);
    fs_err::create_dir_all(full.parent().expect("file has a parent")).expect("create folders");
    fs_err::write(full, content).expect("write file");
}

/// A work tree with one commit (`a.py`, `pkg/b.py`, `.gitignore`, `notes.txt`), then uncommitted changes.
fn repository(root: &Path) -> (Repository, String) {
    let repo = Repository::init(root).expect("init");
    write(root, "a.py", b"def first():\n    return 1\n");
    write(root, "pkg/b.py", b"class B:\n    def m(self):\n        pass\n");
    write(root, ".gitignore", b"ignored/\n*.log\n");
    write(root, "notes.txt", b"notes\n");
    let mut index = repo.index().expect("index");
    for path in ["a.py", "pkg/b.py", ".gitignore", "notes.txt"] {
        index.add_path(Path::new(path)).expect("add");
    }
    index.write().expect("write index");
    let tree_id = index.write_tree().expect("tree");
    let commit = {
        let tree = repo.find_tree(tree_id).expect("find tree");
        let signature = Signature::now("Test", "test@example.com").expect("signature");
        repo.commit(Some("HEAD"), &signature, &signature, "first", &tree, &[]).expect("commit").to_string()
    };
    write(root, "a.py", b"def first():\n    return 2\n\n\ndef second():\n    pass\n");
    write(root, "untracked.py", b"x = 1\n");
    write(root, "ignored/skip.py", b"y = 2\n");
    write(root, "debug.log", b"log\n");
    write(root, ".hidden/config.py", b"z = 3\n");
    (repo, commit)
}

#[test]
fn work_tree_lists_disk_files_honouring_gitignore() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_repo, commit) = repository(dir.path());
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("a.py"), dir.path().join("link.py")).expect("symlink");
    let snapshot = RepoSnapshot::open(dir.path(), None).expect("open work tree");
    assert_eq!(snapshot.kind(), SourceKind::WorkTree);
    assert_eq!(snapshot.commit(), Some(commit.as_str()));
    assert_eq!(snapshot.files(), [".gitignore", ".hidden/config.py", "a.py", "notes.txt", "pkg/b.py", "untracked.py"]);
    assert_eq!(snapshot.read_text("a.py").expect("read"), "def first():\n    return 2\n\n\ndef second():\n    pass\n");
    assert!(matches!(snapshot.read("ignored/skip.py"), Err(SourceError::NoSuchFile { .. })));
}

/// A run started inside the work tree writes under `.agentless/`: no candidate may see it, even with no
/// `.gitignore` saying so, tracked by mistake, or nested below the top.
#[test]
fn agentless_folders_are_never_part_of_a_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (repo, _) = repository(dir.path());
    write(dir.path(), ".agentless/runs/project-1/logs/patch-1.log", b"log\n");
    write(dir.path(), ".agentless/runs/project-1/reproduce_bug.py", b"print('Issue reproduced')\n");
    write(dir.path(), ".agentless/tracked.py", b"t = 1\n");
    write(dir.path(), "pkg/.agentless/cache/c.py", b"c = 1\n");
    write(dir.path(), "pkg/agentless.py", b"kept = 1\n");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new(".agentless/tracked.py")).expect("add");
    index.write().expect("write index");
    let work_tree = RepoSnapshot::open(dir.path(), None).expect("open work tree");
    assert_eq!(
        work_tree.files(),
        [".gitignore", ".hidden/config.py", "a.py", "notes.txt", "pkg/agentless.py", "pkg/b.py", "untracked.py"]
    );
    let folder = tempfile::tempdir().expect("tempdir");
    write(folder.path(), "main.py", b"x = 1\n");
    write(folder.path(), ".agentless/runs/main-1/candidates.py", b"y = 2\n");
    let plain = RepoSnapshot::open(folder.path(), None).expect("open folder");
    assert_eq!(plain.files(), ["main.py"]);
}

#[test]
fn revision_is_read_from_git_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_repo, commit) = repository(dir.path());
    let snapshot = RepoSnapshot::open(dir.path(), Some("HEAD")).expect("open at HEAD");
    assert_eq!(snapshot.kind(), SourceKind::GitRevision);
    assert_eq!(snapshot.commit(), Some(commit.as_str()));
    assert_eq!(snapshot.files(), [".gitignore", "a.py", "notes.txt", "pkg/b.py"]);
    assert_eq!(snapshot.read_text("a.py").expect("read"), "def first():\n    return 1\n");
    let reads: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..4).map(|_| scope.spawn(|| snapshot.read_text("pkg/b.py").expect("read in a thread"))).collect();
        handles.into_iter().map(|handle| handle.join().expect("thread")).collect()
    });
    assert!(reads.iter().all(|text| text.starts_with("class B:")));
}

#[test]
fn bare_repository_needs_a_revision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_repo, commit) = repository(&dir.path().join("work"));
    let bare = dir.path().join("project.git");
    Repository::clone(dir.path().join("work").to_str().expect("utf-8"), &bare).expect("clone");
    let bare_repo = git2::build::RepoBuilder::new()
        .bare(true)
        .clone(dir.path().join("work").to_str().expect("utf-8"), &dir.path().join("bare.git"));
    let bare_path = dir.path().join("bare.git");
    drop(bare_repo.expect("bare clone"));
    assert!(matches!(RepoSnapshot::open(&bare_path, None), Err(SourceError::BareNeedsRev { .. })));
    let snapshot = RepoSnapshot::open(&bare_path, Some(&commit)).expect("bare at commit");
    assert_eq!(snapshot.name(), "bare");
    assert_eq!(snapshot.kind(), SourceKind::GitRevision);
    assert!(snapshot.contains("pkg/b.py"));
    assert!(matches!(RepoSnapshot::open(&bare_path, Some("no-such-branch")), Err(SourceError::UnknownRev { .. })));
    // A git directory without a `config` file (as some mirrors ship) is still bare.
    fs_err::remove_file(bare_path.join("config")).expect("remove config");
    assert!(matches!(RepoSnapshot::open(&bare_path, None), Err(SourceError::BareNeedsRev { .. })));
    assert!(RepoSnapshot::open(&bare_path, Some(&commit)).expect("configless bare at commit").contains("pkg/b.py"));
}

#[test]
fn plain_folder_honours_gitignore_without_git() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), ".gitignore", b"build/\n");
    write(dir.path(), "build/gen.py", b"x = 1\n");
    write(dir.path(), "src/main.py", b"print(1)\n");
    let snapshot = RepoSnapshot::open(dir.path(), None).expect("open folder");
    assert_eq!(snapshot.kind(), SourceKind::Folder);
    assert_eq!(snapshot.commit(), None);
    assert_eq!(snapshot.files(), [".gitignore", "src/main.py"]);
    assert!(matches!(RepoSnapshot::open(dir.path(), Some("HEAD")), Err(SourceError::RevWithoutGit { .. })));
    assert!(matches!(RepoSnapshot::open(&dir.path().join("absent"), None), Err(SourceError::Missing { .. })));
}

#[test]
fn empty_repository_opens_with_no_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    Repository::init(dir.path()).expect("init");
    write(dir.path(), "new.py", b"x = 1\n");
    let snapshot = RepoSnapshot::open(dir.path(), None).expect("unborn HEAD");
    assert_eq!(snapshot.commit(), None);
    assert_eq!(snapshot.files(), ["new.py"]);
    assert!(matches!(RepoSnapshot::open(dir.path(), Some("HEAD")), Err(SourceError::UnknownRev { .. })));
}

#[cfg(target_os = "linux")]
#[test]
fn non_utf8_names_are_skipped_and_counted() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ok.py", b"x = 1\n");
    let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"bad\xff.py"));
    fs_err::write(odd, b"y = 2\n").expect("write odd name");
    let snapshot = RepoSnapshot::open(dir.path(), None).expect("open");
    assert_eq!(snapshot.files(), ["ok.py"]);
    assert_eq!(snapshot.skipped_paths(), 1);
}

#[test]
fn index_counts_caches_and_renders_the_agentless_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_repo, _commit) = repository(&dir.path().join("demo"));
    write(&dir.path().join("demo"), "latin1.py", b"x = '\xe9'\n");
    write(&dir.path().join("demo"), "broken.py", b"def f(:\n    pass\n");
    let snapshot = RepoSnapshot::open(&dir.path().join("demo"), None).expect("open");
    let cache_dir = dir.path().join("cache");
    let options = IndexOptions { cache_dir: Some(cache_dir.clone()), skeletons: true, keep_text: false };
    let cold = RepoIndex::build(&snapshot, &options).expect("cold index");
    assert_eq!((cold.stats.files, cold.stats.cached_files), (6, 0));
    assert_eq!(cold.stats.parse_errors, 2, "broken.py and the non-UTF-8 latin1.py");
    assert_eq!((cold.stats.classes, cold.stats.methods, cold.stats.functions), (1, 1, 3));
    assert!(cold.files["latin1.py"].not_utf8);
    assert_eq!(cold.files["a.py"].skeleton.as_deref(), Some("def first():\n    ...\n\n\ndef second():\n    ...\n"));
    let cache_files: Vec<_> = fs_err::read_dir(&cache_dir).expect("cache dir").collect();
    assert_eq!(cache_files.len(), 1, "the cache is one file");

    let warm = RepoIndex::build(&snapshot, &options).expect("warm index");
    assert_eq!(warm.stats.cached_files, 6);
    assert_eq!((warm.stats.lines, warm.stats.parse_errors), (cold.stats.lines, cold.stats.parse_errors));
    assert_eq!(warm.files["pkg/b.py"].structure, cold.files["pkg/b.py"].structure);
    assert_eq!(warm.files["a.py"].skeleton, cold.files["a.py"].skeleton);

    let with_text = IndexOptions { keep_text: true, ..options };
    let index = RepoIndex::build(&snapshot, &with_text).expect("index with text");
    let mut layout = index.to_agentless_json(&snapshot);
    layout["base_commit"] = serde_json::Value::from("<commit>");
    insta::assert_json_snapshot!(layout);
}

/// `# -*- coding: koi8-r -*-` and Cyrillic text, encoded as declared.
fn koi8_source() -> (String, Vec<u8>) {
    let text = "# -*- coding: koi8-r -*-\n\"\"\"Модуль.\"\"\"\n\n\nclass Приветствие:\n    def сказать(self):\n        return 'Привет'\n\n\ndef главная():\n    return Приветствие().сказать()\n";
    let (bytes, _, unmappable) = encoding_rs::KOI8_R.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture must not be UTF-8");
    (text.to_owned(), bytes.into_owned())
}

#[test]
fn a_file_declaring_koi8_r_is_read_indexed_and_skeletonised_as_koi8_r() {
    let dir = tempfile::tempdir().unwrap();
    let (text, bytes) = koi8_source();
    write(dir.path(), "greet.py", &bytes);
    write(dir.path(), "broken.py", b"x = '\xff\xfe'\n");
    let snapshot = RepoSnapshot::open(dir.path(), None).unwrap();
    assert_eq!(snapshot.read_text("greet.py").unwrap(), text);
    let error = snapshot.read_text("broken.py").unwrap_err();
    assert!(matches!(error, SourceError::NotUtf8 { .. }));
    assert_eq!(error.to_string(), "`broken.py` is not UTF-8 text, nor text in the encoding it declares");

    let options = IndexOptions { skeletons: true, keep_text: true, ..IndexOptions::default() };
    let index = RepoIndex::build(&snapshot, &options).unwrap();
    let greet = &index.files["greet.py"];
    assert!(!greet.not_utf8);
    assert_eq!(greet.structure.classes[0].name, "Приветствие");
    assert_eq!(greet.structure.classes[0].methods[0].name, "сказать");
    assert_eq!(greet.structure.functions[0].name, "главная");
    assert!(greet.skeleton.as_deref().unwrap().contains("def главная():"));
    assert!(index.files["broken.py"].not_utf8);
}
