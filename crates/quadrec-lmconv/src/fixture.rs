//! Tiny titled data for this crate's tests: 16 real MovieLens titles with years and genres, and
//! 12 users in two taste groups (family comedies vs crime thrillers), 6 train rows each.

use quadrec_data::{Interaction, ItemTable, UserTable};
use quadrec_split::TrainView;
use std::sync::Arc;

/// (title, year, genres)
const ITEMS: &[(&str, i32, &[&str])] = &[
    ("Toy Story", 1995, &["Animation", "Children's", "Comedy"]),
    ("GoldenEye", 1995, &["Action", "Adventure", "Thriller"]),
    ("Usual Suspects, The", 1995, &["Crime", "Thriller"]),
    ("Aladdin", 1992, &["Animation", "Children's", "Comedy", "Musical"]),
    ("Silence of the Lambs, The", 1991, &["Drama", "Thriller"]),
    ("Pulp Fiction", 1994, &["Crime", "Drama"]),
    ("Lion King, The", 1994, &["Animation", "Children's", "Musical"]),
    ("Fargo", 1996, &["Crime", "Drama", "Thriller"]),
    ("Home Alone", 1990, &["Children's", "Comedy"]),
    ("Godfather, The", 1972, &["Action", "Crime", "Drama"]),
    ("Back to the Future", 1985, &["Comedy", "Sci-Fi"]),
    ("Die Hard", 1988, &["Action", "Thriller"]),
    ("Ghostbusters", 1984, &["Comedy", "Horror"]),
    ("Chinatown", 1974, &["Film-Noir", "Mystery", "Thriller"]),
    ("Beauty and the Beast", 1991, &["Animation", "Children's", "Musical"]),
    ("Reservoir Dogs", 1992, &["Crime", "Thriller"]),
];

/// The 16 titled items.
pub fn titled_items() -> ItemTable {
    let mut t = ItemTable::with_raw_ids((1..=ITEMS.len()).map(|i| i.to_string()).collect());
    for (i, (title, year, genres)) in ITEMS.iter().enumerate() {
        t.titles[i] = title.to_string();
        t.years[i] = Some(*year);
        t.genres[i] = genres.iter().map(|g| g.to_string()).collect();
    }
    t
}

/// Family items and crime items (indices into [`ITEMS`]).
pub const FAMILY: &[u32] = &[0, 3, 6, 8, 10, 12, 14];
/// Crime / thriller items.
pub const CRIME: &[u32] = &[1, 2, 4, 5, 7, 9, 11, 13, 15];

/// Train view: users 0..6 watch six family items, users 6..12 six crime items (rotated per
/// user so that histories differ), ratings 4-5, increasing timestamps.
pub fn titled_train() -> TrainView {
    let items = Arc::new(titled_items());
    let mut rows = Vec::new();
    for u in 0..12u32 {
        let pool = if u < 6 { FAMILY } else { CRIME };
        for k in 0..6usize {
            let item = pool[(u as usize + k) % pool.len()];
            rows.push(Interaction {
                user: u,
                item,
                rating: if k % 2 == 0 { 5.0 } else { 4.0 },
                timestamp: (u as i64) * 100 + k as i64,
            });
        }
    }
    let users = Arc::new(UserTable::with_raw_ids((0..12).map(|u| u.to_string()).collect()));
    TrainView::from_interactions(12, ITEMS.len() as u32, rows, items, users)
}
