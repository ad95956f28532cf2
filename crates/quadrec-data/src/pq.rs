//! Parquet encode/decode (shared with quadrec-split) with fixed writer properties, so that the same table always gives the
//! same bytes (the `created_by` string is pinned and does not change with the parquet version).

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Encode one batch into Parquet bytes (Snappy, 1M-row row groups, pinned `created_by`).
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, String> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(1 << 20))
        .set_created_by("quadrec".to_string())
        .build();
    let mut buf = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).map_err(|e| e.to_string())?;
    w.write(batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(buf)
}

/// Decode a Parquet file into batches.
pub fn decode_file(path: &std::path::Path) -> Result<Vec<RecordBatch>, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let r = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| e.to_string())?
        .with_batch_size(1 << 16)
        .build()
        .map_err(|e| e.to_string())?;
    r.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
}
