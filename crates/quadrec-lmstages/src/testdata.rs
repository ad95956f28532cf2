//! A tiny titled data set for the tests of this crate: 12 real movie titles in three genre
//! groups, 8 users who each watch (mostly) one group, leave-one-out (the last two items of each
//! sequence are held out and never enter the train view).

use quadrec_data::{Interaction, ItemTable, UserTable};
use quadrec_split::TrainView;
use std::sync::Arc;

const MOVIES: &[(&str, i32, &[&str])] = &[
    ("Toy Story", 1995, &["Animation", "Children's", "Comedy"]),
    ("Aladdin", 1992, &["Animation", "Children's", "Musical"]),
    ("The Lion King", 1994, &["Animation", "Children's", "Musical"]),
    ("Babe", 1995, &["Children's", "Comedy", "Drama"]),
    ("Alien", 1979, &["Horror", "Sci-Fi", "Thriller"]),
    ("The Terminator", 1984, &["Action", "Sci-Fi", "Thriller"]),
    ("Star Wars", 1977, &["Action", "Adventure", "Sci-Fi"]),
    ("Blade Runner", 1982, &["Film-Noir", "Sci-Fi"]),
    ("Casablanca", 1942, &["Drama", "Romance", "War"]),
    ("Sense and Sensibility", 1995, &["Drama", "Romance"]),
    ("Emma", 1996, &["Comedy", "Drama", "Romance"]),
    ("Titanic", 1997, &["Drama", "Romance"]),
];

/// Sequences per user (time order); the last two items are held out.
const SEQS: &[&[u32]] = &[
    &[0, 1, 2, 3, 4],
    &[1, 0, 3, 2, 10],
    &[4, 5, 6, 7, 0],
    &[5, 4, 7, 6, 9],
    &[8, 9, 10, 11, 5],
    &[9, 8, 11, 10, 1],
    &[0, 2, 1, 3],
    &[6, 5, 4, 7],
];

/// The data set.
pub struct Titled {
    /// Train rows only.
    pub train: TrainView,
    /// Per user: the held-out (valid, test) items.
    pub held_out: Vec<Vec<u32>>,
}

impl Titled {
    /// Build.
    pub fn new() -> Self {
        let mut items =
            ItemTable::with_raw_ids((0..MOVIES.len()).map(|i| format!("m{i}")).collect());
        for (i, (t, y, g)) in MOVIES.iter().enumerate() {
            items.titles[i] = t.to_string();
            items.years[i] = Some(*y);
            items.genres[i] = g.iter().map(|s| s.to_string()).collect();
        }
        let users = UserTable::with_raw_ids((0..SEQS.len()).map(|u| format!("u{u}")).collect());
        let mut rows = Vec::new();
        let mut held_out = Vec::new();
        for (u, s) in SEQS.iter().enumerate() {
            let n = s.len() - 2;
            for (t, &i) in s[..n].iter().enumerate() {
                rows.push(Interaction {
                    user: u as u32,
                    item: i,
                    rating: if t % 2 == 0 { 5.0 } else { 4.0 },
                    timestamp: 1_000 + t as i64,
                });
            }
            held_out.push(s[n..].to_vec());
        }
        let train = TrainView::from_interactions(
            SEQS.len() as u32,
            MOVIES.len() as u32,
            rows,
            Arc::new(items),
            Arc::new(users),
        );
        Titled { train, held_out }
    }
}
