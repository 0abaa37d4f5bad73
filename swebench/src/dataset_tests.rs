use std::sync::Arc;

use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use pretty_assertions::assert_eq;

use super::*;

const ROW: &str = r#"{"instance_id": "o__r-1", "repo": "o/r", "base_commit": "abc", "patch": "p", "test_patch": "t",
    "problem_statement": "s", "hints_text": "", "created_at": "2020", "version": "1.0",
    "FAIL_TO_PASS": "[\"test_a\", \"test_b (m.C)\"]", "PASS_TO_PASS": [], "environment_setup_commit": "def",
    "difficulty": "<15 min fix"}"#;

/// A second row unlike the first in every field, with decoded lists and no `hints_text`.
const OTHER_ROW: &str = r#"{"instance_id": "x__y-22", "repo": "x/y", "base_commit": "0123", "patch": "diff --git a",
    "test_patch": "diff --git b", "problem_statement": "crash on ünïcode\nsecond line", "created_at": "2023-07-17",
    "version": "4.0", "FAIL_TO_PASS": ["t1"], "PASS_TO_PASS": ["t2", "t3 [with space"],
    "environment_setup_commit": "4567", "log_parser": "parse_log_pytest"}"#;

fn one_line(row: &str) -> String {
    row.replace('\n', " ")
}

fn object(row: &str) -> Map<String, Value> {
    match serde_json::from_str(row).unwrap() {
        Value::Object(object) => object,
        other => panic!("not an object: {other}"),
    }
}

/// How the Parquet fixture stores `FAIL_TO_PASS` / `PASS_TO_PASS` lists.
#[derive(Debug, Clone, Copy)]
enum Lists {
    /// JSON-encoded strings, as the hub does.
    JsonStrings,
    /// Parquet LIST columns of strings.
    ParquetLists,
}

/// `rows` as a Parquet file laid out like the hub's: one optional UTF-8 column per field any row has (a row without
/// it holds null there), lists (decoded or JSON-encoded in `rows`) stored as `lists` says; a field holding numbers
/// is an INT64 column.
fn parquet_bytes(rows: &[Map<String, Value>], lists: Lists, compression: Compression) -> Vec<u8> {
    let columns: BTreeSet<&String> = rows.iter().flat_map(Map::keys).collect();
    let is_list = |column: &str| {
        matches!(lists, Lists::ParquetLists) && rows.iter().any(|row| row.get(column).is_some_and(Value::is_array))
    };
    let is_number = |column: &str| rows.iter().any(|row| row.get(column).is_some_and(Value::is_number));
    let fields: Vec<String> = columns
        .iter()
        .map(|column| match (is_list(column), is_number(column)) {
            (true, _) => format!(
                "optional group {column} (LIST) {{ repeated group list {{ optional binary element (UTF8); }} }}"
            ),
            (false, true) => format!("optional int64 {column};"),
            (false, false) => format!("optional binary {column} (UTF8);"),
        })
        .collect();
    let schema = Arc::new(parse_message_type(&format!("message schema {{ {} }}", fields.join(" "))).unwrap());
    let properties = Arc::new(WriterProperties::builder().set_compression(compression).build());
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, properties).unwrap();
    let mut row_group = writer.next_row_group().unwrap();
    for column in columns {
        let (mut values, mut numbers, mut definitions, mut repetitions) = (vec![], vec![], vec![], vec![]);
        for row in rows {
            let decoded = match row.get(column) {
                Some(Value::String(encoded)) if is_list(column) => Some(serde_json::from_str(encoded).unwrap()),
                value => value.cloned(),
            };
            match decoded.as_ref() {
                None | Some(Value::Null) => {
                    definitions.push(0);
                    repetitions.push(0);
                }
                Some(Value::Array(items)) if is_list(column) => {
                    if items.is_empty() {
                        definitions.push(1);
                        repetitions.push(0);
                    }
                    for (index, item) in items.iter().enumerate() {
                        values.push(ByteArray::from(item.as_str().unwrap()));
                        definitions.push(3);
                        repetitions.push(i16::from(index > 0));
                    }
                }
                Some(Value::String(text)) => {
                    values.push(ByteArray::from(text.as_str()));
                    definitions.push(1);
                    repetitions.push(0);
                }
                Some(list @ Value::Array(_)) => {
                    values.push(ByteArray::from(list.to_string().as_str()));
                    definitions.push(1);
                    repetitions.push(0);
                }
                Some(Value::Number(number)) => {
                    numbers.push(number.as_i64().unwrap());
                    definitions.push(1);
                    repetitions.push(0);
                }
                Some(other) => panic!("the fixture writes strings, lists and integers, not {other}"),
            }
        }
        let mut column_writer = row_group.next_column().unwrap().unwrap();
        let repetitions = is_list(column).then_some(repetitions.as_slice());
        match is_number(column) {
            true => column_writer.typed::<Int64Type>().write_batch(&numbers, Some(&definitions), None).unwrap(),
            false => {
                column_writer.typed::<ByteArrayType>().write_batch(&values, Some(&definitions), repetitions).unwrap()
            }
        };
        column_writer.close().unwrap();
    }
    row_group.close().unwrap();
    writer.into_inner().unwrap()
}

fn write_parquet(path: &Path, rows: &[&str], lists: Lists, compression: Compression) {
    let objects: Vec<Map<String, Value>> = rows.iter().map(|row| object(row)).collect();
    fs_err::write(path, parquet_bytes(&objects, lists, compression)).unwrap();
}

#[test]
fn encoded_and_decoded_test_lists() {
    let instance: Instance = serde_json::from_str(ROW).unwrap();
    assert_eq!(instance.fail_to_pass, vec!["test_a", "test_b (m.C)"]);
    assert!(instance.pass_to_pass.is_empty());
}

#[test]
fn json_list_and_jsonl_load_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let one_line = one_line(ROW);
    fs_err::write(dir.path().join("d.jsonl"), format!("{one_line}\n\n{one_line}\n")).unwrap();
    fs_err::write(dir.path().join("d.json"), format!("[{ROW}, {ROW}]")).unwrap();
    let from_lines = load_instances(&dir.path().join("d.jsonl")).unwrap();
    let from_list = load_instances(&dir.path().join("d.json")).unwrap();
    assert_eq!(from_lines.len(), 2);
    assert_eq!(from_lines, from_list);
}

#[test]
fn parquet_loads_the_same_instances_as_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("d.jsonl");
    fs_err::write(&jsonl, format!("{}\n{}\n", one_line(ROW), one_line(OTHER_ROW))).unwrap();
    let expected = load_instances(&jsonl).unwrap();
    assert_eq!(expected[1].log_parser.as_deref(), Some("parse_log_pytest"));
    // A column the instance does not read, of a type it could not read (v5 rows carry more columns).
    let with_eval_minutes = OTHER_ROW.replace('{', r#"{"eval_minutes": 12, "#);
    let compressions = [Compression::SNAPPY, Compression::UNCOMPRESSED, Compression::ZSTD(ZstdLevel::default())];
    for compression in compressions {
        for lists in [Lists::JsonStrings, Lists::ParquetLists] {
            // The hub's file names say nothing of the format: the magic bytes do.
            let path = dir.path().join(format!("test-00000-of-00001-{compression}-{lists:?}"));
            write_parquet(&path, &[ROW, &with_eval_minutes], lists, compression);
            let written = SerializedFileReader::new(fs_err::File::open(&path).unwrap().into_parts().0).unwrap();
            assert_eq!(written.metadata().row_group(0).column(0).compression(), compression);
            assert_eq!(load_instances(&path).unwrap(), expected, "{compression}, {lists:?}");
        }
    }
}

#[test]
fn a_parquet_file_is_a_dataset_with_its_harness_meta_sibling() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lite.parquet");
    write_parquet(&path, &[ROW, OTHER_ROW], Lists::JsonStrings, Compression::SNAPPY);
    let meta = r#"{"instance_id": "o__r-1", "log_parser": "parse_log_django", "eval_type": "pass_and_fail"}"#;
    fs_err::write(dir.path().join("lite.harness-meta.jsonl"), meta).unwrap();
    let dataset = Dataset::load(path.to_str().unwrap(), &DataDir::new(dir.path())).unwrap();
    assert_eq!(dataset.name, "lite");
    assert_eq!(dataset.instances.len(), 2);
    assert_eq!(dataset.log_parser(&dataset.instances[0]).unwrap(), LogParser::Django);
    assert_eq!(dataset.log_parser(&dataset.instances[1]).unwrap(), LogParser::Pytest);
}

#[test]
fn a_named_dataset_is_read_from_a_downloaded_parquet_when_no_jsonl_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    write_parquet(
        &dir.path().join("swe-bench-verified.parquet"),
        &[OTHER_ROW],
        Lists::JsonStrings,
        Compression::SNAPPY,
    );
    assert_eq!(data.dataset_file(DatasetName::Verified), dir.path().join("swe-bench-verified.parquet"));
    let verified = Dataset::load("verified", &data).unwrap();
    assert_eq!(verified.instances[0].instance_id, "x__y-22");
    fs_err::write(dir.path().join("swe-bench-verified.jsonl"), one_line(ROW)).unwrap();
    assert_eq!(Dataset::load("verified", &data).unwrap().instances[0].instance_id, "o__r-1");
}

/// `row` without `field`, on one line.
fn without(row: &str, field: &str) -> String {
    let mut object = object(row);
    object.remove(field);
    Value::Object(object).to_string()
}

#[test]
fn a_missing_field_is_named_with_the_file_the_row_and_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("d.jsonl");
    fs_err::write(&jsonl, format!("{}\n{}\n", one_line(ROW), without(OTHER_ROW, "version"))).unwrap();
    let error = load_instances(&jsonl).unwrap_err();
    assert!(
        matches!(&error, SwebenchError::MissingField { place: RowPlace::Line(2), instance_id: Some(id), field: "version", .. } if id == "x__y-22"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: line 2 (instance x__y-22): no `version` field", jsonl.display())),
        "{message}"
    );

    // A row whose value is null (the column exists for the other rows).
    let parquet = dir.path().join("d.parquet");
    let with_null = without(ROW, "environment_setup_commit");
    write_parquet(&parquet, &[OTHER_ROW, &with_null], Lists::JsonStrings, Compression::SNAPPY);
    let error = load_instances(&parquet).unwrap_err();
    assert!(
        matches!(
            &error,
            SwebenchError::MissingField { place: RowPlace::Row(2), field: "environment_setup_commit", .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("row 2 (instance o__r-1): no `environment_setup_commit` field"), "{error}");

    // No row has it: the column itself is missing.
    let rows = [without(ROW, "FAIL_TO_PASS"), without(OTHER_ROW, "FAIL_TO_PASS")];
    write_parquet(&parquet, &[&rows[0], &rows[1]], Lists::JsonStrings, Compression::UNCOMPRESSED);
    let error = load_instances(&parquet).unwrap_err();
    let message = error.to_string();
    assert!(matches!(&error, SwebenchError::Parquet { .. }), "{error:?}");
    assert!(message.starts_with(&format!("{}: no column `FAIL_TO_PASS`", parquet.display())), "{message}");
    assert!(message.contains("PASS_TO_PASS"), "lists the columns present: {message}");
}

#[test]
fn null_counts_as_absent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    let with_null_hints = one_line(OTHER_ROW).replace('{', r#"{"hints_text": null, "#);
    fs_err::write(&path, format!("{with_null_hints}\n")).unwrap();
    assert_eq!(load_instances(&path).unwrap()[0].hints_text, "");
    let with_null_version = one_line(OTHER_ROW).replace(r#""version": "4.0""#, r#""version": null"#);
    fs_err::write(&path, format!("{with_null_version}\n")).unwrap();
    let error = load_instances(&path).unwrap_err();
    assert!(matches!(error, SwebenchError::MissingField { field: "version", .. }), "{error:?}");
}

#[test]
fn a_parquet_column_of_numbers_where_text_is_due_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.parquet");
    let numeric_version = ROW.replace(r#""version": "1.0""#, r#""version": 10"#);
    write_parquet(&path, &[&numeric_version], Lists::JsonStrings, Compression::SNAPPY);
    let error = load_instances(&path).unwrap_err().to_string();
    assert!(error.ends_with("column `version` holds INT64 (NONE), not strings"), "{error}");
}

#[test]
fn required_fields_are_exactly_those_an_instance_cannot_do_without() {
    let mut full = object(OTHER_ROW);
    full.insert("hints_text".to_owned(), Value::String("h".to_owned()));
    let mut fields: Vec<&str> = REQUIRED_FIELDS.iter().chain(&OPTIONAL_FIELDS).copied().collect();
    fields.sort_unstable();
    let mut all: Vec<&str> = full.keys().map(String::as_str).collect();
    all.sort_unstable();
    assert_eq!(fields, all);
    for field in all {
        let mut row = full.clone();
        row.remove(field);
        let parsed = serde_json::from_value::<Instance>(Value::Object(row));
        assert_eq!(parsed.is_err(), REQUIRED_FIELDS.contains(&field), "{field}");
    }
}

#[test]
fn a_file_that_is_not_a_dataset_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 4] = [
        ("classification.csv", b"instance_id,problem_statement\no__r-1,text\n", "it starts with `instance_id,problem"),
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "neither Parquet (no `PAR1` magic bytes) nor UTF-8 text"),
        ("empty.jsonl", b"\n  \n", "it is empty"),
        ("README.md", b"# SWE-bench\n", "it starts with `# SWE-bench`"),
    ];
    for (name, content, reason) in cases {
        let path = dir.path().join(name);
        fs_err::write(&path, content).unwrap();
        let error = load_instances(&path).unwrap_err();
        assert!(matches!(error, SwebenchError::NotADataset { .. }), "{name}: {error:?}");
        let message = error.to_string();
        assert!(message.starts_with(&format!("{} is not a SWE-bench dataset: ", path.display())), "{message}");
        assert!(message.contains(reason), "{message}");
    }
    let path = dir.path().join("numbers.json");
    fs_err::write(&path, "[1, 2]").unwrap();
    let error = load_instances(&path).unwrap_err().to_string();
    assert!(error.ends_with("item 1: expected an object with an instance's fields, found a number"), "{error}");
    let path = dir.path().join("truncated.parquet");
    fs_err::write(&path, b"PAR1 cut short").unwrap();
    let error = load_instances(&path).unwrap_err();
    assert!(matches!(error, SwebenchError::Parquet { .. }), "{error:?}");
}

#[test]
fn bad_line_names_its_number() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("d.jsonl"), format!("{}\n{{\"instance_id\": \n", one_line(ROW))).unwrap();
    let error = load_instances(&dir.path().join("d.jsonl")).unwrap_err();
    assert!(matches!(error, SwebenchError::JsonLine { line: 2, .. }), "{error}");
}

#[test]
fn a_wrongly_typed_field_names_its_row() {
    let dir = tempfile::tempdir().unwrap();
    let bad = one_line(ROW).replace(r#""version": "1.0""#, r#""version": 1.0"#);
    fs_err::write(dir.path().join("d.jsonl"), format!("{}\n{bad}\n", one_line(OTHER_ROW))).unwrap();
    let error = load_instances(&dir.path().join("d.jsonl")).unwrap_err();
    assert!(matches!(error, SwebenchError::BadRow { place: RowPlace::Line(2), .. }), "{error:?}");
    assert!(error.to_string().contains("line 2 (instance o__r-1): invalid type"), "{error}");
}

#[test]
fn lite_s_comes_from_the_id_list_else_from_the_classification_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    fs_err::write(dir.path().join("swe-bench-lite.jsonl"), format!("{}\n{}\n", one_line(ROW), one_line(OTHER_ROW)))
        .unwrap();
    let error = Dataset::load("lite-s", &data).unwrap_err();
    assert!(matches!(error, SwebenchError::LiteSIdsNotFound { .. }), "{error:?}");
    let csv = "instance_id,description quality,solution in description\n\
               o__r-1,Well-specified,No solution\n\
               x__y-22,Not enough info,No solution\n";
    fs_err::write(dir.path().join(CLASSIFICATION_CSV), csv).unwrap();
    let ids = |dataset: Dataset| dataset.instances.into_iter().map(|instance| instance.instance_id).collect::<Vec<_>>();
    assert_eq!(ids(Dataset::load("lite-s", &data).unwrap()), ["o__r-1"]);
    fs_err::write(dir.path().join(LITE_S_IDS_FILE), "x__y-22\n").unwrap();
    assert_eq!(ids(Dataset::load("lite-s", &data).unwrap()), ["x__y-22"]);
}

#[test]
fn discover_walks_up_to_a_sibling_shared_data() {
    let root = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(root.path().join("shared/data")).unwrap();
    fs_err::create_dir_all(root.path().join("main/crate/src")).unwrap();
    let found = DataDir::discover(&root.path().join("main/crate/src")).unwrap();
    assert_eq!(found.path(), root.path().join("shared/data"));
}

#[test]
fn names_round_trip() {
    for name in DatasetName::ALL {
        assert_eq!(name.as_str().parse::<DatasetName>().unwrap(), name);
    }
    assert!("lite_s".parse::<DatasetName>().is_err());
}
