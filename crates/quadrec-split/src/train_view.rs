//! [`TrainView`]: the only thing a method's training step receives. It owns the TRAIN rows of a
//! split and the side tables; it has no field, method or constructor argument through which
//! valid/test rows could be reached. The held-out rows live in [`crate::HeldOut`], which the
//! runner keeps and hands only to the evaluator.

use quadrec_data::{Interaction, ItemTable, UserTable};
use std::sync::Arc;

/// Train-only view of a split, with per-user CSR access in time order.
#[derive(Clone, Debug)]
pub struct TrainView {
    n_users: u32,
    n_items: u32,
    rows: Vec<Interaction>,
    // CSR over `rows`: user u's rows are rows[offsets[u]..offsets[u+1]].
    offsets: Vec<usize>,
    // Columns aligned with `rows`, so slices can be handed out without copies.
    items_col: Vec<u32>,
    ratings_col: Vec<f32>,
    times_col: Vec<i64>,
    popularity: Vec<u32>,
    items: Arc<ItemTable>,
    users: Arc<UserTable>,
}

impl TrainView {
    /// Build from train-only rows (tests, synthetic data). Rows must be sorted by
    /// (user, timestamp) and every id must be inside the catalogue; both are checked with a panic
    /// that names the offending row, because a violation is a programming error of the caller.
    pub fn from_interactions(
        n_users: u32,
        n_items: u32,
        rows: Vec<Interaction>,
        items: Arc<ItemTable>,
        users: Arc<UserTable>,
    ) -> Self {
        let mut offsets = vec![0usize; n_users as usize + 1];
        let mut popularity = vec![0u32; n_items as usize];
        for (k, r) in rows.iter().enumerate() {
            assert!(r.user < n_users, "train row {k}: user {} >= n_users {n_users}", r.user);
            assert!(r.item < n_items, "train row {k}: item {} >= n_items {n_items}", r.item);
            if k > 0 {
                let p = &rows[k - 1];
                assert!(
                    (p.user, p.timestamp) <= (r.user, r.timestamp),
                    "train row {k}: rows are not sorted by (user, timestamp)"
                );
            }
            offsets[r.user as usize + 1] += 1;
            popularity[r.item as usize] += 1;
        }
        for u in 0..n_users as usize {
            offsets[u + 1] += offsets[u];
        }
        let items_col = rows.iter().map(|r| r.item).collect();
        let ratings_col = rows.iter().map(|r| r.rating).collect();
        let times_col = rows.iter().map(|r| r.timestamp).collect();
        TrainView {
            n_users,
            n_items,
            rows,
            offsets,
            items_col,
            ratings_col,
            times_col,
            popularity,
            items,
            users,
        }
    }

    /// Catalogue size: all users of the dataset (some may have no train row).
    pub fn n_users(&self) -> u32 {
        self.n_users
    }

    /// Catalogue size: all items of the dataset (some may have no train row).
    pub fn n_items(&self) -> u32 {
        self.n_items
    }

    /// Train rows, sorted by (user, timestamp, original row).
    pub fn interactions(&self) -> &[Interaction] {
        &self.rows
    }

    fn range(&self, user: u32) -> std::ops::Range<usize> {
        self.offsets[user as usize]..self.offsets[user as usize + 1]
    }

    /// That user's train items in time order.
    pub fn user_items(&self, user: u32) -> &[u32] {
        &self.items_col[self.range(user)]
    }

    /// That user's train ratings, aligned with [`TrainView::user_items`].
    pub fn user_ratings(&self, user: u32) -> &[f32] {
        &self.ratings_col[self.range(user)]
    }

    /// That user's train timestamps, aligned with [`TrainView::user_items`].
    pub fn user_timestamps(&self, user: u32) -> &[i64] {
        &self.times_col[self.range(user)]
    }

    /// Train interaction count per item (length `n_items`).
    pub fn item_popularity(&self) -> &[u32] {
        &self.popularity
    }

    /// Item side text for all items (text is not a label, so the whole catalogue is visible).
    pub fn items(&self) -> &ItemTable {
        &self.items
    }

    /// User side features.
    pub fn users(&self) -> &UserTable {
        &self.users
    }

    /// Shared handle to the item table (for methods that keep it after `fit`).
    pub fn items_arc(&self) -> Arc<ItemTable> {
        self.items.clone()
    }

    /// Shared handle to the user table.
    pub fn users_arc(&self) -> Arc<UserTable> {
        self.users.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it(user: u32, item: u32, t: i64) -> Interaction {
        Interaction { user, item, rating: 1.0, timestamp: t }
    }

    #[test]
    fn csr_slices_follow_time_order() {
        let rows = vec![it(0, 2, 1), it(0, 1, 5), it(2, 0, 3), it(2, 2, 3), it(2, 1, 9)];
        let v = TrainView::from_interactions(
            3,
            4,
            rows,
            Arc::new(ItemTable::with_raw_ids((0..4).map(|i| i.to_string()).collect())),
            Arc::new(UserTable::with_raw_ids((0..3).map(|i| i.to_string()).collect())),
        );
        assert_eq!(v.user_items(0), &[2, 1]);
        assert_eq!(v.user_items(1), &[] as &[u32]);
        assert_eq!(v.user_items(2), &[0, 2, 1]);
        assert_eq!(v.user_timestamps(2), &[3, 3, 9]);
        assert_eq!(v.item_popularity(), &[1, 2, 2, 0]);
        assert_eq!(v.n_items(), 4);
        assert_eq!(v.interactions().len(), 5);
    }

    #[test]
    #[should_panic(expected = "not sorted")]
    fn unsorted_rows_are_refused() {
        let rows = vec![it(1, 0, 1), it(0, 0, 1)];
        TrainView::from_interactions(
            2,
            1,
            rows,
            Arc::new(ItemTable::with_raw_ids(vec!["a".into()])),
            Arc::new(UserTable::with_raw_ids(vec!["x".into(), "y".into()])),
        );
    }
}
