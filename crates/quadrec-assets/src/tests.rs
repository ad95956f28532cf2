//! Tests with hand-made wheels: no network, no real asset needed.

use super::*;
use quadrec_core::hash::sha256_hex;
use std::io::Write;

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Write a wheel (zip) with the given members; return its sha256.
fn make_wheel(path: &Path, members: &[(&str, &[u8])]) -> String {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, data) in members {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    quadrec_core::hash::sha256_file(path).unwrap()
}

fn asset(wheel: &str, wheel_sha: String, files: Vec<(&str, &[u8])>) -> Asset {
    let files: Vec<AssetFile> = files
        .into_iter()
        .map(|(m, d)| AssetFile { member: leak(m.to_string()), sha256: leak(sha256_hex(d)) })
        .collect();
    Asset {
        id: "test-asset",
        package: "test-pkg",
        version: "1.0",
        wheel: leak(wheel.to_string()),
        wheel_sha256: leak(wheel_sha),
        files: Box::leak(files.into_boxed_slice()),
        licence: "test",
        description: "test",
    }
}

fn opts(root: &Path, wheels: &Path) -> FetchOptions {
    FetchOptions {
        root: root.to_path_buf(),
        wheel_dir: Some(wheels.to_path_buf()),
        offline: true,
        progress: false,
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn extracts_verified_members_from_local_wheel() {
    let t = tempfile::tempdir().unwrap();
    let wheels = t.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let w = wheels.join("test_pkg-1.0-py3-none-any.whl");
    let sha = make_wheel(&w, &[("pkg/data/a.txt", b"alpha"), ("pkg/other.py", b"x")]);
    let a = asset("test_pkg-1.0-py3-none-any.whl", sha, vec![("pkg/data/a.txt", b"alpha")]);
    let root = t.path().join("cache");
    let d = fetch_with(&a, &opts(&root, &wheels)).unwrap();
    assert_eq!(std::fs::read(d.path("pkg/data/a.txt")).unwrap(), b"alpha");
    // Only the pinned member was extracted.
    assert_eq!(files_under(&a.dir_in(&root)), vec![a.dir_in(&root).join("pkg/data/a.txt")]);
    assert_eq!(cache_state_in(&a, &root), CacheState::Verified);
    // Second call is served from the cache even with the wheel gone.
    std::fs::remove_file(&w).unwrap();
    fetch_with(&a, &opts(&root, &wheels)).unwrap();
}

#[test]
fn corrupted_wheel_is_refused_and_nothing_is_extracted() {
    let t = tempfile::tempdir().unwrap();
    let wheels = t.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let w = wheels.join("p-1.0-py3-none-any.whl");
    let sha = make_wheel(&w, &[("pkg/a.txt", b"alpha")]);
    let a = asset("p-1.0-py3-none-any.whl", sha, vec![("pkg/a.txt", b"alpha")]);
    // Flip one byte: a corrupted download.
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&w, bytes).unwrap();
    let root = t.path().join("cache");
    let err = fetch_with(&a, &opts(&root, &wheels)).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AssetError::HashMismatch { .. }), "{msg}");
    assert!(msg.contains("p-1.0-py3-none-any.whl") && msg.contains("sha256 mismatch"), "{msg}");
    assert!(files_under(&root).is_empty(), "nothing partial left: {:?}", files_under(&root));
}

#[test]
fn member_with_wrong_content_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let wheels = t.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let w = wheels.join("p-1.0-py3-none-any.whl");
    let sha = make_wheel(&w, &[("pkg/a.txt", b"tampered")]);
    let a = asset("p-1.0-py3-none-any.whl", sha, vec![("pkg/a.txt", b"alpha")]);
    let root = t.path().join("cache");
    let err = fetch_with(&a, &opts(&root, &wheels)).unwrap_err();
    assert!(err.to_string().contains("pkg/a.txt"), "{err}");
    assert!(files_under(&root).is_empty(), "{:?}", files_under(&root));
}

#[test]
fn path_escapes_are_refused() {
    for bad in ["../evil.txt", "/etc/evil", "a/../../evil", "a\\..\\evil", ""] {
        assert!(safe_relative(bad).is_none(), "{bad:?} should be refused");
    }
    assert_eq!(safe_relative("a/b/c.txt"), Some(PathBuf::from("a/b/c.txt")));

    let t = tempfile::tempdir().unwrap();
    let wheels = t.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let w = wheels.join("p-1.0-py3-none-any.whl");
    let sha = make_wheel(&w, &[("../evil.txt", b"x")]);
    let a = asset("p-1.0-py3-none-any.whl", sha, vec![("../evil.txt", b"x")]);
    let root = t.path().join("cache");
    let err = fetch_with(&a, &opts(&root, &wheels)).unwrap_err();
    assert!(matches!(err, AssetError::UnsafePath { .. }), "{err}");
    assert!(!t.path().join("evil.txt").exists());
    assert!(!root.join("evil.txt").exists());
}

#[test]
fn offline_without_wheel_names_the_package_and_the_manual_command() {
    let t = tempfile::tempdir().unwrap();
    let a = asset("p-1.0-py3-none-any.whl", "00".repeat(32), vec![("pkg/a.txt", b"alpha")]);
    let err = fetch_with(&a, &opts(&t.path().join("c"), &t.path().join("none"))).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("pip download --no-deps") && msg.contains("test-pkg==1.0"), "{msg}");
    assert!(msg.contains(WHEEL_DIR_ENV), "{msg}");
}

#[test]
fn corrupted_cache_is_detected_and_repaired() {
    let t = tempfile::tempdir().unwrap();
    let wheels = t.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let w = wheels.join("p-1.0-py3-none-any.whl");
    let sha = make_wheel(&w, &[("pkg/a.txt", b"alpha")]);
    let a = asset("p-1.0-py3-none-any.whl", sha, vec![("pkg/a.txt", b"alpha")]);
    let root = t.path().join("cache");
    let d = fetch_with(&a, &opts(&root, &wheels)).unwrap();
    std::fs::write(d.path("pkg/a.txt"), b"bitrot").unwrap();
    assert_eq!(cache_state_in(&a, &root), CacheState::Corrupt("pkg/a.txt".into()));
    let d = fetch_with(&a, &opts(&root, &wheels)).unwrap();
    assert_eq!(std::fs::read(d.path("pkg/a.txt")).unwrap(), b"alpha");
}

#[test]
fn registry_ids_are_unique_and_hashes_well_formed() {
    let mut ids: Vec<&str> = REGISTRY.iter().map(|a| a.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), REGISTRY.len());
    for a in REGISTRY {
        assert_eq!(a.wheel_sha256.len(), 64);
        for f in a.files {
            assert_eq!(f.sha256.len(), 64, "{}", f.member);
            assert!(safe_relative(f.member).is_some(), "{}", f.member);
        }
    }
}
