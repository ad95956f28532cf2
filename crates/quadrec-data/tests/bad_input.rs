//! Malformed inputs give a clear error naming the file, the line and the field; nothing partial
//! is written (loaders fail before anything is stored; stores write to a temporary name first).

use quadrec_data::loaders::loader;
use quadrec_data::raw::SideIds;
use quadrec_data::{ProcessSpec, builtin, process, store};
use std::path::Path;

/// Write `files` into a fresh folder, run loader `format` on it, return the error text.
fn fail(format: &str, files: &[(&str, &[u8])]) -> String {
    fail_with(format, files, None)
}

fn fail_with(format: &str, files: &[(&str, &[u8])], side: Option<SideIds>) -> String {
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let l = loader(format).unwrap();
    let path =
        if format == "generic" { tmp.path().join("s.toml") } else { tmp.path().to_path_buf() };
    match (l.load)(&path, side.unwrap_or(l.side_ids)) {
        Ok(_) => panic!("{format}: malformed input was accepted"),
        Err(e) => e.to_string(),
    }
}

const ITEM: &[u8] = b"10|Heat (1995)|01-Jan-1995||http://x|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n";
const USER: &[u8] = b"1|24|M|technician|85711\n";

fn ml100k(data: &[u8]) -> String {
    fail("ml-100k-raw", &[("u.data", data), ("u.item", ITEM), ("u.user", USER)])
}

fn has(e: &str, parts: &[&str]) {
    for p in parts {
        assert!(e.contains(p), "error `{e}` should contain `{p}`");
    }
}

#[test]
fn truncated_line_names_the_missing_field() {
    let e = ml100k(b"1\t10\t4\t881250949\n1\t10\t4\n");
    has(&e, &["u.data:2:", "field `timestamp`", "missing", "truncated line or wrong separator"]);
}

#[test]
fn wrong_separator() {
    let e = fail(
        "ml-1m",
        &[
            ("ratings.dat", b"1,1193,5,978300760\n"),
            ("movies.dat", b"1193::X (1975)::Drama\n"),
            ("users.dat", b"1::F::1::10::48067\n"),
        ],
    );
    has(&e, &["ratings.dat:1:", "field `MovieID`", "separated by `::`"]);
    let e = fail(
        "ml-csv",
        &[
            ("ratings.csv", b"userId;movieId;rating;timestamp\n1;1;4;5\n"),
            ("movies.csv", b"movieId,title,genres\n"),
        ],
    );
    has(&e, &["ratings.csv:1:", "field `userId`", "wrong separator"]);
}

#[test]
fn bad_encoding_names_line_and_field() {
    let e = fail(
        "ml-csv",
        &[
            ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n"),
            ("movies.csv", b"movieId,title,genres\n1,Caf\xe9 (1995),Drama\n"),
        ],
    );
    has(&e, &["movies.csv:2:", "field `title`", "invalid UTF-8"]);
    let e = fail("recbole", &[("x.inter", b"user_id:token\titem_id:token\n1\t2\n\xff\t3\n")]);
    has(&e, &["x.inter:3:", "invalid UTF-8"]);
}

#[test]
fn missing_and_extra_columns() {
    let e = ml100k(b"1\t10\t4\t881250949\t7\n");
    has(&e, &["u.data:1:", "extra columns"]);
    let e = fail(
        "ml-csv",
        &[
            ("ratings.csv", b"userId,movieId,timestamp\n1,1,5\n"),
            ("movies.csv", b"movieId,title,genres\n"),
        ],
    );
    has(&e, &["ratings.csv:1:", "field `rating`"]);
    let e = fail(
        "ml-csv",
        &[
            ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4\n"),
            ("movies.csv", b"movieId,title,genres\n"),
        ],
    );
    has(&e, &["ratings.csv:2:", "field `timestamp`", "missing"]);
    let e = fail("recbole", &[("x.inter", b"user_id:token\trating:float\n1\t2\n")]);
    has(&e, &["x.inter:1:", "field `item_id`", "missing from header"]);
    let e = fail(
        "generic",
        &[
            ("s.toml", b"[interactions]\npath = \"e.csv\"\nuser = \"u\"\nitem = \"nope\"\n"),
            ("e.csv", b"u,i\n1,2\n"),
        ],
    );
    has(&e, &["e.csv:1:", "field `nope`", "column not found"]);
}

#[test]
fn non_numeric_rating_and_timestamp() {
    let e = ml100k(b"1\t10\tfour\t881250949\n");
    has(&e, &["u.data:1:", "field `rating`", "not a number: `four`"]);
    let e = fail(
        "ml-csv",
        &[
            ("ratings.csv", b"userId,movieId,rating,timestamp\n1,1,4,5\n1,2,4,yesterday\n"),
            ("movies.csv", b"movieId,title,genres\n"),
        ],
    );
    has(&e, &["ratings.csv:3:", "field `timestamp`", "yesterday"]);
    let e = fail("amazon-2018", &[("B.json", b"{\"reviewerID\":\"A\",\"asin\":\"x\",\"overall\":\"five\",\"unixReviewTime\":1}\n"), ("meta_B.json", b"{\"asin\":\"x\"}\n")]);
    has(&e, &["B.json:1:", "field `overall`", "not a number"]);
}

#[test]
fn empty_files() {
    let e = ml100k(b"");
    has(&e, &["u.data", "empty file"]);
    let e = fail("recbole", &[("x.inter", b"")]);
    has(&e, &["x.inter", "empty file"]);
    let e = fail("ml-csv", &[("ratings.csv", b""), ("movies.csv", b"movieId,title,genres\n")]);
    has(&e, &["ratings.csv", "empty file"]);
    let e = fail("amazon-2023", &[("B.jsonl", b"\n"), ("meta_B.jsonl", b"{}\n")]);
    has(&e, &["B.jsonl", "empty file"]);
}

#[test]
fn duplicate_rows() {
    let e = fail(
        "ml-1m",
        &[
            ("ratings.dat", b"1::5::5::1\n2::5::4::2\n1::5::3::9\n"),
            ("movies.dat", b"5::X (1975)::Drama\n"),
            ("users.dat", b""),
        ],
    );
    has(&e, &["ratings.dat:3:", "duplicate rating of item `5` by user `1`", "first on line 1"]);
    let e = ml100k_with_item(b"10|Heat (1995)|||x|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n10|Heat (1995)|||x|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    has(&e, &["u.item:2:", "duplicate item id `10`", "first seen on line 1"]);
}

fn ml100k_with_item(item: &[u8]) -> String {
    fail("ml-100k-raw", &[("u.data", b"1\t10\t4\t881250949\n"), ("u.item", item), ("u.user", USER)])
}

#[test]
fn side_files_naming_unknown_ids() {
    let e = ml100k_with_item(b"99|Nope (1995)|||x|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n");
    has(&e, &["u.item:1:", "field `item_id`", "item id `99` does not occur"]);
    // Lenient formats drop and count instead; strict can be asked for.
    let files: &[(&str, &[u8])] = &[
        ("ratings.dat", b"1::5::5::1\n"),
        ("movies.dat", b"5::X (1975)::Drama\n"),
        ("users.dat", b"1::F::1::10::1\n7::F::1::10::1\n"),
    ];
    let e = fail_with("ml-1m", files, Some(SideIds::Strict));
    has(&e, &["users.dat:2:", "field `user_id`", "user id `7` does not occur"]);
}

#[test]
fn truncated_gzip_and_truncated_python_literal() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for k in 0..2000 {
        writeln!(
            gz,
            "{{\"reviewerID\":\"A{k}\",\"asin\":\"x\",\"overall\":5.0,\"unixReviewTime\":{k}}}"
        )
        .unwrap();
    }
    let full = gz.finish().unwrap();
    let cut = &full[..full.len() / 2];
    let e =
        fail("amazon-2014", &[("reviews_X.json.gz", cut), ("meta_X.json.gz", b"{'asin': 'x'}\n")]);
    has(&e, &["reviews_X.json.gz:", "read error"]);
    let e = fail(
        "amazon-2014",
        &[
            (
                "reviews_X.json",
                b"{\"reviewerID\":\"A\",\"asin\":\"x\",\"overall\":5.0,\"unixReviewTime\":1}\n",
            ),
            ("meta_X.json", b"{'asin': 'x', 'title': 'Tut\n"),
        ],
    );
    has(&e, &["meta_X.json:1:", "unexpected end of input"]);
}

#[test]
fn generic_toml_rejects_unknown_keys() {
    let e = fail(
        "generic",
        &[
            (
                "s.toml",
                b"[interactions]\npath = \"e.csv\"\nuser = \"u\"\nitem = \"i\"\nratng = \"r\"\n",
            ),
            ("e.csv", b"u,i\n"),
        ],
    );
    has(&e, &["s.toml", "invalid configuration", "ratng"]);
}

#[test]
fn corrupted_download_is_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let wheel = wheels.join(quadrec_assets::ML_100K.wheel);
    std::fs::write(&wheel, b"PK\x03\x04 not really a wheel").unwrap();
    let opts = quadrec_assets::FetchOptions {
        root: tmp.path().join("assets"),
        wheel_dir: Some(wheels),
        offline: true,
        progress: false,
    };
    let err = builtin::builtin("ml-100k").unwrap().fetch_raw(&opts).unwrap_err();
    let chain = format!(
        "{err}: {}",
        std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default()
    );
    has(&chain, &["ml-100k", "sha256 mismatch", quadrec_assets::ML_100K.wheel]);
    // Nothing was extracted.
    assert!(!quadrec_assets::ML_100K.dir_in(&tmp.path().join("assets")).join("recbole").exists());
}

#[test]
fn corrupted_stored_table_is_refused_and_failed_saves_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let l = loader("ml-1m").unwrap();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ml-1m");
    let d =
        process::process("m", (l.load)(&fx, l.side_ids).unwrap(), &ProcessSpec::default()).unwrap();
    let root = tmp.path().join("datasets");
    let d = store::save(d, &root).unwrap();
    let p = root.join(&d.id).join(store::INTERACTIONS_FILE);
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n / 2] ^= 0xff;
    std::fs::write(&p, b).unwrap();
    let e = store::load(&root.join(&d.id)).unwrap_err().to_string();
    has(&e, &["interactions.parquet", "sha256 mismatch"]);
    // Saving into a root that cannot be created fails and leaves no folder behind.
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let d2 =
        process::process("m", (l.load)(&fx, l.side_ids).unwrap(), &ProcessSpec::default()).unwrap();
    assert!(store::save(d2, &blocker.join("sub")).is_err());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "only datasets/ and the blocker file"
    );
}
