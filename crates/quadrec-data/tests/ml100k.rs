//! MovieLens-100K fetched into an EMPTY cache through the pinned `recbole==1.2.1` wheel
//! (network, or the folder named by `QUADREC_WHEEL_DIR`), processed and stored.

use quadrec_data::{builtin, process, store};

#[test]
fn ml100k_from_empty_cache_has_published_counts_and_text() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = quadrec_assets::FetchOptions::from_env();
    opts.root = tmp.path().join("assets");
    opts.progress = false;
    let b = builtin::builtin("ml-100k").unwrap();
    let raw = b.fetch_raw(&opts).unwrap();
    assert_eq!(raw.sources.len(), 3);
    let d = process::process("ml-100k", raw, &(b.spec)()).unwrap();
    assert_eq!(d.interactions.len(), 100_000);
    assert_eq!(d.n_users(), 943);
    assert_eq!(d.n_items(), 1682);
    assert_eq!(d.manifest.card.items_with_title, 1682);
    // Dense ids follow numeric order of raw ids, so item 0 is raw "1" = Toy Story.
    assert_eq!(d.items.raw_id(0), "1");
    assert_eq!(d.items.text(0), "Toy Story (1995) Animation Children's Comedy");
    assert!(d.items.genres.iter().all(|g| !g.is_empty()));
    assert_eq!(d.users.raw_id(0), "1");
    assert_eq!(d.users.text(0), "age: 24, gender: M, occupation: technician, zip_code: 85711");
    // Stable order: sorted by (user, timestamp).
    assert!(
        d.interactions
            .windows(2)
            .all(|w| (w[0].user, w[0].timestamp) <= (w[1].user, w[1].timestamp))
    );
    assert_eq!(d.manifest.card.time_min, 874_724_710);
    assert_eq!(d.manifest.card.time_max, 893_286_638);

    // Stored tables round-trip, with sha256 verified on load, and regeneration is byte-identical.
    let root = tmp.path().join("datasets");
    let saved = store::save(d, &root).unwrap();
    let dir = root.join(&saved.id);
    let loaded = store::load(&dir).unwrap();
    assert_eq!(loaded.interactions, saved.interactions);
    assert_eq!(loaded.items, saved.items);
    assert_eq!(loaded.users, saved.users);
    assert_eq!(loaded.manifest, saved.manifest);
    let again = process::process("ml-100k", b.fetch_raw(&opts).unwrap(), &(b.spec)()).unwrap();
    let root2 = tmp.path().join("datasets2");
    let saved2 = store::save(again, &root2).unwrap();
    assert_eq!(saved2.id, saved.id);
    for f in [store::INTERACTIONS_FILE, store::ITEMS_FILE, store::USERS_FILE, store::MANIFEST_FILE]
    {
        assert_eq!(
            std::fs::read(dir.join(f)).unwrap(),
            std::fs::read(root2.join(&saved.id).join(f)).unwrap(),
            "{f}"
        );
    }
}
