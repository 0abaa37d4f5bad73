use pretty_assertions::assert_eq;

use super::*;

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.jsonl");
    fs_err::write(&path, text).unwrap();
    (dir, path)
}

fn error_of<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
    let (_dir, path) = file(text);
    let error = read_rows::<T>(&path, None).unwrap_err();
    error.to_string().replace(&path.display().to_string(), "rows.jsonl")
}

#[test]
fn rows_are_read_by_instance_and_only_the_wanted_ones_are_parsed() {
    // The second row would fail to parse as a ProcessedRow; it is not wanted, so only its id is read.
    let (_dir, path) = file(
        "{\"instance_id\": \"a\", \"model_patch\": \"diff\", \"edited_files\": [\"x.py\"]}\n\n\
         {\"instance_id\": \"b\", \"model_patch\": 7}\n",
    );
    let wanted = BTreeSet::from(["a".to_owned()]);
    let rows: BTreeMap<String, ProcessedRow> = read_rows(&path, Some(&wanted)).unwrap();
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(rows["a"].edited_files, ["x.py"]);
    assert_eq!(rows["a"].raw_model_patch, None);
}

#[test]
fn hostile_rows_name_the_file_the_line_and_the_instance() {
    assert_eq!(
        error_of::<ProcessedRow>("{\"model_patch\": \"\"}\n"),
        "rows.jsonl: line 1: missing field `instance_id` at line 1 column 19"
    );
    assert_eq!(
        error_of::<ProcessedRow>("\n{\"instance_id\": \"a\"}\n"),
        "rows.jsonl: line 2: instance a: missing field `model_patch` at line 1 column 20"
    );
    assert_eq!(
        error_of::<ProcessedRow>("{\"instance_id\": \"a\", \"model_patch\": 3}\n"),
        "rows.jsonl: line 1: instance a: invalid type: integer `3`, expected a string at line 1 column 37"
    );
    assert_eq!(
        error_of::<RegressionRow>("{\"instance_id\": \"a\", \"regression\": \"test_x\"}\n"),
        "rows.jsonl: line 1: instance a: invalid type: string \"test_x\", expected a sequence at line 1 column 43"
    );
    assert_eq!(
        error_of::<ReproductionRow>("{\"instance_id\": \"a\", \"reproduction\": \"yes\"}\n"),
        "rows.jsonl: line 1: instance a: invalid type: string \"yes\", expected a boolean at line 1 column 42"
    );
    assert_eq!(
        error_of::<LocRow>("{\"instance_id\": \"a\", \"found_edit_locs\": 5}\n"),
        "rows.jsonl: line 1: instance a: data did not match any variant of untagged enum RawEditLocs at line 1 \
         column 42"
    );
    assert_eq!(error_of::<LocRow>("not json\n"), "rows.jsonl: line 1: expected ident at line 1 column 2");
    assert_eq!(
        error_of::<RegressionRow>("{\"instance_id\": \"a\"}\n{\"instance_id\": \"a\", \"regression\": []}\n"),
        "rows.jsonl: line 2: a second row for instance a"
    );
}

#[test]
fn missing_results_stay_missing() {
    let (_dir, path) = file("{\"instance_id\": \"a\"}\n{\"instance_id\": \"b\", \"regression\": null}\n");
    let rows: BTreeMap<String, RegressionRow> = read_rows(&path, None).unwrap();
    assert_eq!(rows["a"].regression, None, "rerank.py counts a missing `regression` as 10,000 failures");
    assert_eq!(rows["b"].regression, None);
}

#[test]
fn edit_locations_come_as_one_sample_every_sample_or_nothing() {
    let row = |json: &str| -> LocRow { serde_json::from_str(json).unwrap() };
    let one = row(r#"{"found_files": ["a.py"], "found_edit_locs": {"a.py": ["\nline: 3\nfunction: f"]}}"#);
    assert_eq!(
        one.found_edit_locs,
        RawEditLocs::One(RawFileLocs::Files(LocsByFile::from([(
            "a.py".to_owned(),
            LocText::Many(vec!["\nline: 3\nfunction: f".to_owned()])
        )])))
    );
    let RawEditLocs::One(locs) = &one.found_edit_locs else { panic!() };
    assert_eq!(locs.to_file_locs(), FileLocs::from([("a.py".to_owned(), vec!["\nline: 3\nfunction: f".to_owned()])]));
    // `merge` writes `[]` for an instance without edit locations; a string value is one block.
    assert_eq!(row(r#"{"found_edit_locs": []}"#).found_edit_locs, RawEditLocs::Samples(Vec::new()));
    let text = row(r#"{"found_edit_locs": [{"b.py": "class: B"}, {}]}"#);
    let RawEditLocs::Samples(samples) = &text.found_edit_locs else { panic!("{text:?}") };
    assert_eq!(samples[0].to_file_locs(), FileLocs::from([("b.py".to_owned(), vec!["class: B".to_owned()])]));
    assert_eq!(samples[1].to_file_locs(), FileLocs::default());
    assert_eq!(row("{}").found_edit_locs, RawEditLocs::One(RawFileLocs::Nothing));
}
