//! Tiny titled data for the tests of this crate: 12 real MovieLens titles (two "families" of
//! films) and 6 users whose train sequences stay within one family, plus test-time queries.

use quadrec_core::Seed;
use quadrec_data::{Interaction, ItemTable, UserTable};
use quadrec_method::{FitContext, Method, MethodEntry, TrainView, UserQuery};
use std::sync::Arc;

/// (title, year, genres)
pub const MOVIES: [(&str, i32, &str); 12] = [
    ("Toy Story", 1995, "Animation"),
    ("Aladdin", 1992, "Animation"),
    ("Lion King, The", 1994, "Animation"),
    ("Beauty and the Beast", 1991, "Animation"),
    ("Pinocchio", 1940, "Animation"),
    ("Cinderella", 1950, "Animation"),
    ("Heat", 1995, "Thriller"),
    ("Se7en", 1995, "Thriller"),
    ("Fargo", 1996, "Crime"),
    ("Godfather, The", 1972, "Crime"),
    ("Silence of the Lambs, The", 1991, "Thriller"),
    ("Pulp Fiction", 1994, "Crime"),
];

/// Item table of [`MOVIES`].
pub fn items() -> ItemTable {
    let mut t = ItemTable::with_raw_ids((0..MOVIES.len()).map(|i| format!("{}", i + 1)).collect());
    for (i, (title, year, g)) in MOVIES.iter().enumerate() {
        t.titles[i] = title.to_string();
        t.years[i] = Some(*year);
        t.genres[i] = vec![g.to_string()];
    }
    t
}

/// Users 0-2 watch animation (items 0-5), users 3-5 crime/thriller (6-11).
pub fn train() -> TrainView {
    let seqs: [&[u32]; 6] =
        [&[0, 1, 2, 3], &[1, 2, 4, 5], &[0, 3, 4], &[6, 7, 8, 9], &[7, 9, 10, 11], &[6, 8, 11]];
    let mut rows = Vec::new();
    for (u, s) in seqs.iter().enumerate() {
        for (k, &i) in s.iter().enumerate() {
            let rating = if (u + k) % 3 == 0 { 2.0 } else { 5.0 };
            rows.push(Interaction { user: u as u32, item: i, rating, timestamp: 1000 + k as i64 });
        }
    }
    let users = UserTable { raw_ids: (1..=6).map(|u| u.to_string()).collect(), features: vec![] };
    TrainView::from_interactions(6, 12, rows, Arc::new(items()), Arc::new(users))
}

/// Fit an entry with smoke params (plus `extra`) and seed.
pub fn fit(e: &MethodEntry, extra: serde_json::Value, seed: u64) -> Box<dyn Method> {
    let smoke = (e.smoke_params)();
    let (_, mut m) = e.build_with(&[("smoke", &smoke), ("test", &extra)]).expect("params build");
    let train = train();
    let mut ctx = FitContext::new(Seed(seed));
    m.fit(&train, &mut ctx).unwrap_or_else(|err| panic!("{}: fit failed: {err}", e.id));
    m
}

/// A query with the user's train history.
pub fn query(train: &TrainView, u: u32) -> UserQuery<'_> {
    UserQuery { user: u, history: train.user_items(u) }
}
