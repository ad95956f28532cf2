//! Every loader of the LOADERS table parses its committed hand-made fixture (written in exactly
//! the native format: encoding, separators, quoting, gzip) into exactly the expected rows and
//! side information. Fixtures: tests/fixtures/<format>/ (made by make_fixtures.py).

use quadrec_data::loaders::{LOADERS, loader};
use quadrec_data::{Dataset, FeatureValue, ProcessSpec, process};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn load(format: &str, path: PathBuf) -> Dataset {
    let l = loader(format).unwrap();
    let raw = (l.load)(&path, l.side_ids).unwrap_or_else(|e| panic!("{format}: {e}"));
    process::process(format, raw, &ProcessSpec::default()).unwrap()
}

/// Rows with raw ids, in the dataset's stable order.
fn rows(d: &Dataset) -> Vec<(String, String, f32, i64)> {
    d.interactions
        .iter()
        .map(|r| {
            (
                d.users.raw_id(r.user).to_string(),
                d.items.raw_id(r.item).to_string(),
                r.rating,
                r.timestamp,
            )
        })
        .collect()
}

fn r(u: &str, i: &str, rating: f32, t: i64) -> (String, String, f32, i64) {
    (u.into(), i.into(), rating, t)
}

fn item(d: &Dataset, raw: &str) -> u32 {
    d.items.raw_ids.iter().position(|x| x == raw).unwrap_or_else(|| panic!("item {raw}")) as u32
}

#[test]
fn every_loader_has_a_fixture_test() {
    let ids: Vec<&str> = LOADERS.iter().map(|l| l.id).collect();
    assert_eq!(
        ids,
        [
            "ml-100k-raw",
            "ml-1m",
            "ml-10m",
            "ml-csv",
            "amazon-2014",
            "amazon-2018",
            "amazon-2023",
            "bookcrossing",
            "generic",
            "recbole"
        ]
    );
    assert!(loader("nope").unwrap_err().to_string().contains("known formats: ml-100k-raw"));
}

#[test]
fn ml_100k_raw() {
    let d = load("ml-100k-raw", fixture("ml-100k-raw"));
    // Timestamp tie for user 1 is broken by original row: item 10 (row 0) before item 2 (row 2).
    assert_eq!(
        rows(&d),
        vec![
            r("1", "10", 4.0, 881250949),
            r("1", "2", 5.0, 881250949),
            r("2", "10", 3.0, 881250950)
        ]
    );
    assert_eq!(d.items.raw_ids, ["2", "10"]);
    assert_eq!(d.items.text(item(&d, "10")), "Café Society (1995) Comedy Drama");
    assert_eq!(d.items.text(item(&d, "2")), "GoldenEye (1995) Action Adventure Thriller");
    assert_eq!(d.items.extra["release_date"][0].as_deref(), Some("01-Jan-1995"));
    assert_eq!(d.users.text(0), "age: 24, gender: M, occupation: technician, zip_code: 85711");
    assert_eq!(d.manifest.sources.len(), 3);
}

#[test]
fn ml_1m() {
    let d = load("ml-1m", fixture("ml-1m"));
    assert_eq!(
        rows(&d),
        vec![
            r("1", "1193", 5.0, 978300760),
            r("1", "661", 3.0, 978302109),
            r("2", "1193", 4.0, 978298413)
        ]
    );
    assert_eq!(
        d.items.text(item(&d, "661")),
        "James and the Giant Peach (1996) Animation Children's Musical"
    );
    assert_eq!(d.items.title(item(&d, "1193")), "One Flew Over the Cuckoo's Nest");
    // Movie 3 (Latin-1 title) has no rating: dropped and counted.
    assert_eq!(d.manifest.card.side_rows_without_interactions, 1);
    assert_eq!(d.users.text(0), "gender: F, age: 1, occupation: 10, zip-code: 48067");
}

#[test]
fn ml_10m() {
    let d = load("ml-10m", fixture("ml-10m"));
    assert_eq!(
        rows(&d),
        vec![
            r("1", "185", 4.5, 838983525),
            r("1", "122", 5.0, 838985046),
            r("2", "122", 3.0, 868245777)
        ]
    );
    assert_eq!(d.items.text(item(&d, "185")), "Net Café, The (1995) Action Crime Thriller");
    assert_eq!(d.manifest.card.side_rows_without_interactions, 1);
}

#[test]
fn ml_csv() {
    let d = load("ml-csv", fixture("ml-csv"));
    assert_eq!(
        rows(&d),
        vec![
            r("1", "3", 4.5, 964981247),
            r("1", "1", 4.0, 964982703),
            r("2", "1", 3.0, 1445714835),
            r("2", "5", 2.5, 1445714836)
        ]
    );
    assert_eq!(d.items.text(item(&d, "3")), "American President, The (1995) Comedy Drama Romance");
    assert_eq!(d.items.text(item(&d, "5")), "Pooh's \"Grand\" Adventure (1997)");
    assert!(d.items.genres(item(&d, "5")).is_empty());
}

#[test]
fn amazon_2014_with_python_literal_metadata() {
    let d = load("amazon-2014", fixture("amazon-2014"));
    assert_eq!(
        rows(&d),
        vec![
            r("A1B2", "0000031852", 5.0, 1356912000),
            r("A1B2", "B00004TFT1", 4.0, 1357084800),
            r("A9", "0000031852", 2.0, 1356998400)
        ]
    );
    let a = item(&d, "0000031852");
    assert_eq!(d.items.title(a), "Girls Ballet Tutu Zebra Hot Pink");
    assert_eq!(
        d.items.genres(a),
        ["Sports & Outdoors", "Other Sports", "Dance", "Clothing", "Girls"]
    );
    assert_eq!(d.items.extra["brand"][a as usize].as_deref(), Some("Coxlures"));
    assert_eq!(d.items.extra["price"][a as usize].as_deref(), Some("3.17"));
    let b = item(&d, "B00004TFT1");
    assert_eq!(d.items.title(b), "Kid's Café Set");
    assert_eq!(d.items.description(b), Some("It's a \"classic\" toy"));
}

#[test]
fn amazon_2018() {
    let d = load("amazon-2018", fixture("amazon-2018"));
    assert_eq!(
        rows(&d),
        vec![
            r("AX1", "B0001", 4.0, 1399939200),
            r("AX1", "B0002", 3.0, 1400112000),
            r("AX2", "B0001", 5.0, 1400025600)
        ]
    );
    let a = item(&d, "B0001");
    assert_eq!(d.items.text(a), "My Book Books Literature & Fiction");
    assert_eq!(d.items.description(a), Some("A book. Second paragraph."));
    assert_eq!(d.items.extra["price"][a as usize].as_deref(), Some("$3.99"));
    assert_eq!(d.items.title(item(&d, "B0002")), "Other édition");
}

#[test]
fn amazon_2023_with_millisecond_timestamps() {
    let d = load("amazon-2023", fixture("amazon-2023"));
    assert_eq!(
        rows(&d),
        vec![
            r("AFQLNQNQYFWQZPJQZS6V3NZU4QBQ", "B00YQ6X8EO", 1.0, 1490000000),
            r("AGKHLEW2SOWHNMFQIJGBECAF7INQ", "B081TJ8YS3", 4.0, 1588615855),
            r("AGKHLEW2SOWHNMFQIJGBECAF7INQ", "B00YQ6X8EO", 5.0, 1588687728),
        ]
    );
    let b = item(&d, "B081TJ8YS3");
    assert_eq!(d.items.text(b), "Yes To Tomatoes Mask Beauty Skin Care");
    assert_eq!(d.items.extra["price"][b as usize].as_deref(), Some("8.99"));
    assert_eq!(d.items.description(item(&d, "B00YQ6X8EO")), Some("Conditions leather."));
}

#[test]
fn bookcrossing_latin1_semicolons_implicit_zero() {
    let d = load("bookcrossing", fixture("bookcrossing"));
    // No timestamps: order within a user is the file's row order.
    assert_eq!(
        rows(&d),
        vec![
            r("276725", "034545104X", 0.0, 0),
            r("276725", "0155061224", 7.0, 0),
            r("276726", "0155061224", 5.0, 0)
        ]
    );
    let b = item(&d, "0155061224");
    assert_eq!(d.items.title(b), "Rites of Passage; Ölmez");
    assert_eq!(d.items.year(b), None);
    assert_eq!(d.items.year(item(&d, "034545104X")), Some(2002));
    assert_eq!(d.items.extra["author"][b as usize].as_deref(), Some("Judith Rae"));
    assert_eq!(d.users.text(0), "location: tyler, texas, usa");
    assert_eq!(d.users.feature(1, "age"), Some(&FeatureValue::Num(16.0)));
    // rating_threshold = 1 keeps the explicit ratings only.
    let l = loader("bookcrossing").unwrap();
    let raw = (l.load)(&fixture("bookcrossing"), l.side_ids).unwrap();
    let spec = ProcessSpec { rating_threshold: Some(1.0), ..Default::default() };
    assert_eq!(process::process("bx", raw, &spec).unwrap().interactions.len(), 2);
}

#[test]
fn recbole_atomic() {
    let d = load("recbole", fixture("recbole"));
    assert_eq!(
        rows(&d),
        vec![
            r("7", "101", 2.0, 899999999),
            r("7", "100", 4.0, 900000000),
            r("8", "100", 5.0, 900000001)
        ]
    );
    assert_eq!(d.items.text(item(&d, "100")), "Toy Story (1995) Animation Children's Comedy");
    assert_eq!(d.items.text(item(&d, "101")), "Heat Action Crime");
    assert_eq!(d.users.text(0), "age: 24, gender: M");
    assert_eq!(d.users.text(1), "gender: F");
}

#[test]
fn generic_csv_from_toml() {
    let d = load("generic", fixture("generic-csv/source.toml"));
    assert_eq!(
        rows(&d),
        vec![
            r("u1", "s1", 4.0, 1600000000),
            r("u1", "s2", 5.0, 1600000001),
            r("u2", "s1", 3.0, 1600000000)
        ]
    );
    let s1 = item(&d, "s1");
    assert_eq!(d.items.text(s1), "Lamp, blue home light");
    assert_eq!(d.items.description(s1), Some("A lamp."));
    assert_eq!(d.items.extra["brand"][s1 as usize].as_deref(), Some("Acme"));
    assert_eq!(d.users.text(0), "country: FR, age: 31");
    assert_eq!(d.users.text(1), "");
}

#[test]
fn generic_parquet_from_toml() {
    use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().unwrap();
    let b = RecordBatch::try_from_iter(vec![
        ("user", Arc::new(Int64Array::from(vec![10, 2, 10])) as ArrayRef),
        ("item", Arc::new(StringArray::from(vec!["x", "y", "y"]))),
        ("score", Arc::new(Float64Array::from(vec![1.0, 0.5, 2.0]))),
        ("time", Arc::new(Int64Array::from(vec![5, 6, 4]))),
    ])
    .unwrap();
    std::fs::write(tmp.path().join("events.parquet"), quadrec_data::pq::encode(&b).unwrap())
        .unwrap();
    std::fs::write(
        tmp.path().join("src.toml"),
        "[interactions]\npath = \"events.parquet\"\nformat = \"parquet\"\nuser = \"user\"\nitem = \"item\"\nrating = \"score\"\ntimestamp = \"time\"\n",
    )
    .unwrap();
    let d = load("generic", tmp.path().join("src.toml"));
    assert_eq!(rows(&d), vec![r("2", "y", 0.5, 6), r("10", "y", 2.0, 4), r("10", "x", 1.0, 5)]);
}

#[test]
fn tiny_synthetic_fixture_is_reproduced_and_imports() {
    // The committed CI dataset was written by
    // `quadrec data synth crates/quadrec-data/tests/fixtures/synth-tiny --users 60 --items 40
    //  --interactions 1200 --factors 4 --seed 42`; the generator must reproduce it byte for byte.
    let cfg = quadrec_data::synthetic::SynthConfig {
        n_users: 60,
        n_items: 40,
        n_interactions: 1200,
        n_factors: 4,
        seed: 42,
    };
    let tmp = tempfile::tempdir().unwrap();
    quadrec_data::synthetic::write_atomic_files(&cfg, tmp.path(), &|_| {}).unwrap();
    for f in ["synth.inter", "synth.item", "synth.user"] {
        assert_eq!(
            std::fs::read(tmp.path().join(f)).unwrap(),
            std::fs::read(fixture("synth-tiny").join(f)).unwrap(),
            "{f}"
        );
    }
    let d = load("recbole", fixture("synth-tiny"));
    assert_eq!(d.manifest.card.source_rows, 1200);
    assert_eq!(d.n_users(), 60);
    assert!(d.items.genres(0)[0].starts_with("topic-"));
    // In-memory generation gives the same rows as the written files.
    let raw = quadrec_data::synthetic::generate(&cfg).unwrap();
    let mem = process::process("recbole", raw, &ProcessSpec::default()).unwrap();
    assert_eq!(mem.interactions, d.interactions);
}
