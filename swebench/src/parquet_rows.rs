//! SWE-bench datasets as the dataset hub publishes them: Parquet files (snappy, zstd or uncompressed), read row by
//! row into the same JSON objects a JSONL line holds, so both formats map to an instance the same way.

use bytes::Bytes;
use parquet::basic::{ConvertedType, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;
use serde_json::{Map, Value};

/// The first (and last) four bytes of every Parquet file.
pub const MAGIC: &[u8; 4] = b"PAR1";

/// Why a Parquet file could not be turned into rows.
#[derive(Debug, thiserror::Error)]
pub enum ParquetRowsError {
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("no column `{column}` (the file's columns: {})", .present.join(", "))]
    MissingColumn { column: String, present: Vec<String> },
    #[error("column `{column}` holds {found}, not strings")]
    NotText { column: String, found: String },
    #[error("row {row}: column `{column}` holds {found}, not a string nor a list of strings")]
    NotTextValue { row: usize, column: String, found: String },
}

/// Whether `data` is a Parquet file, by its leading magic bytes (the hub's file names say nothing of the format).
pub fn is_parquet(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// The rows of the Parquet file in `data`, one JSON object each, holding the columns named in `wanted` (the other
/// columns, e.g. v5's `eval_script`, are not read). A column missing from the file is an error when it is listed in
/// `required`; null values are left out of the object, as if absent.
pub fn read_rows(
    data: Vec<u8>,
    wanted: &[&str],
    required: &[&str],
) -> Result<Vec<Map<String, Value>>, ParquetRowsError> {
    let reader = SerializedFileReader::new(Bytes::from(data))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let root = schema.root_schema();
    let present: Vec<String> = root.get_fields().iter().map(|field| field.name().to_owned()).collect();
    if let Some(column) = required.iter().find(|column| !present.iter().any(|name| name == *column)) {
        return Err(ParquetRowsError::MissingColumn { column: (*column).to_owned(), present });
    }
    for leaf in schema.columns() {
        let column = leaf.path().parts().first().map(String::as_str).unwrap_or_default();
        let textual = leaf.physical_type() == PhysicalType::BYTE_ARRAY
            && matches!(
                leaf.converted_type(),
                ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON | ConvertedType::NONE
            );
        if wanted.contains(&column) && !textual {
            let found = format!("{} ({})", leaf.physical_type(), leaf.converted_type());
            return Err(ParquetRowsError::NotText { column: column.to_owned(), found });
        }
    }
    let kept: Vec<_> = root.get_fields().iter().filter(|field| wanted.contains(&field.name())).cloned().collect();
    let projection = Type::group_type_builder(root.name()).with_fields(kept).build()?;
    let rows = reader.get_row_iter(Some(projection))?;
    rows.enumerate().map(|(index, row)| row_object(index + 1, row?)).collect()
}

fn row_object(row_number: usize, row: Row) -> Result<Map<String, Value>, ParquetRowsError> {
    let mut object = Map::new();
    for (column, field) in row.into_columns() {
        match text_value(&field) {
            Ok(Value::Null) => {}
            Ok(value) => {
                object.insert(column, value);
            }
            Err(found) => return Err(ParquetRowsError::NotTextValue { row: row_number, column, found }),
        }
    }
    Ok(object)
}

/// A string, a list of strings, or null; anything else is named by its type in the error.
fn text_value(field: &Field) -> Result<Value, String> {
    match field {
        Field::Null => Ok(Value::Null),
        Field::Str(text) => Ok(Value::String(text.clone())),
        Field::Bytes(bytes) => std::str::from_utf8(bytes.data())
            .map(|text| Value::String(text.to_owned()))
            .map_err(|_| "bytes that are not UTF-8".to_owned()),
        Field::ListInternal(list) => list.elements().iter().map(text_value).collect::<Result<_, _>>().map(Value::Array),
        Field::Group(_) => Err("a struct".to_owned()),
        Field::MapInternal(_) => Err("a map".to_owned()),
        other => Err(format!("the value {other}")),
    }
}
