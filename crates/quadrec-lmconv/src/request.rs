//! Natural-language requests composed from a held-out item's attributes, with machine-checkable
//! hard conditions (genre, decade) and soft ones ("something like <title>").
//!
//! Each request comes from one template of [`TEMPLATES`] (id + versioned text; the template id is
//! recorded with every request and the table's sha256 with every benchmark file). The template
//! and its slots are drawn from `seed.child("conv/request").index(user)`, so the request set is a
//! pure function of (split, seed). Every hard condition is true of the target item by
//! construction (checked again in tests), so a perfect recommender can reach hit@K = 1 and a
//! hard-condition rate of 1.

use quadrec_core::Seed;
use quadrec_core::hash::sha256_hex;
use quadrec_data::ItemTable;
use rand::RngExt;

/// Genres that say nothing about an item (ML-100K's `unknown`); never used in requests.
const UNINFORMATIVE: &[&str] = &["unknown", "(no genres listed)"];

/// A condition an item must satisfy for a request to be fulfilled.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The item carries this genre (case-insensitive).
    Genre(String),
    /// The item's year lies in `[decade, decade + 9]`.
    Decade(i32),
}

impl Condition {
    /// Whether `item` satisfies the condition.
    pub fn holds(&self, items: &ItemTable, item: u32) -> bool {
        match self {
            Condition::Genre(g) => items.genres(item).iter().any(|x| x.eq_ignore_ascii_case(g)),
            Condition::Decade(d) => items.year(item).is_some_and(|y| y >= *d && y <= d + 9),
        }
    }

    /// Short human form (`genre=Comedy`, `decade=1980s`).
    pub fn label(&self) -> String {
        match self {
            Condition::Genre(g) => format!("genre={g}"),
            Condition::Decade(d) => format!("decade={d}s"),
        }
    }
}

/// Whether `item` satisfies every condition of `hard`.
pub fn satisfies_all(items: &ItemTable, item: u32, hard: &[Condition]) -> bool {
    hard.iter().all(|c| c.holds(items, item))
}

/// A soft preference (not checked as a constraint; it is what the text similarity captures).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Soft {
    /// "something like <title>": an item of the user's history sharing a genre with the target.
    LikeItem(u32),
}

/// Slots a template needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    /// One genre + the decade.
    GenreDecade,
    /// An anchor title + one genre.
    LikeGenre,
    /// Two distinct genres.
    GenrePair,
    /// An anchor title + the decade.
    LikeDecade,
    /// One genre + the decade + an anchor title.
    GenreDecadeLike,
}

/// One request template.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    /// Stable id recorded with every request (`genre_decade/v1`).
    pub id: &'static str,
    /// Text with `{genre}`, `{genre2}`, `{decade}`, `{title}` slots.
    pub text: &'static str,
    needs: Needs,
}

/// The request templates, in draw order.
pub const TEMPLATES: &[Template] = &[
    Template {
        id: "genre_decade/v1",
        text: "I'm in the mood for a {genre} movie from the {decade}.",
        needs: Needs::GenreDecade,
    },
    Template {
        id: "like_genre/v1",
        text: "Can you recommend something like {title}? It should be a {genre} movie.",
        needs: Needs::LikeGenre,
    },
    Template {
        id: "genre_pair/v1",
        text: "I want a movie that is both {genre} and {genre2}.",
        needs: Needs::GenrePair,
    },
    Template {
        id: "like_decade/v1",
        text: "Something like {title}, but from the {decade}.",
        needs: Needs::LikeDecade,
    },
    Template {
        id: "genre_decade_like/v1",
        text: "A {genre} film from the {decade}, something like {title}.",
        needs: Needs::GenreDecadeLike,
    },
];

/// sha256 over every template id and text (recorded in benchmark files).
pub fn templates_sha256() -> String {
    let s: Vec<String> = TEMPLATES.iter().map(|t| format!("{}\t{}", t.id, t.text)).collect();
    sha256_hex(s.join("\n").as_bytes())
}

/// One composed request.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    /// User the request is for.
    pub user: u32,
    /// The held-out item it was composed from.
    pub target: u32,
    /// Template id.
    pub template: String,
    /// The request text.
    pub text: String,
    /// Hard conditions (all true of `target`).
    pub hard: Vec<Condition>,
    /// Soft preferences.
    pub soft: Vec<Soft>,
}

fn informative_genres(items: &ItemTable, item: u32) -> Vec<&str> {
    items
        .genres(item)
        .iter()
        .map(String::as_str)
        .filter(|g| !UNINFORMATIVE.iter().any(|u| u.eq_ignore_ascii_case(g)))
        .collect()
}

/// Title without a trailing `(year)` and with ML-100K's "Name, The" moved back to the front.
pub fn display_title(items: &ItemTable, item: u32) -> String {
    let t = items.title(item).trim();
    let t = match t.rfind(" (") {
        Some(i)
            if t.ends_with(')') && t[i + 2..t.len() - 1].chars().all(|c| c.is_ascii_digit()) =>
        {
            &t[..i]
        }
        _ => t,
    };
    for art in ["The", "A", "An"] {
        if let Some(base) = t.strip_suffix(&format!(", {art}")) {
            return format!("{art} {base}");
        }
    }
    t.to_string()
}

/// Compose the request of `user` from `target`, given the user's input `history` (oldest first).
/// Returns `None` when no template applies (no informative genre and no year).
pub fn compose(
    items: &ItemTable,
    user: u32,
    target: u32,
    history: &[u32],
    seed: Seed,
) -> Option<Request> {
    let mut rng = seed.child("conv/request").index(user as u64).rng();
    let genres = informative_genres(items, target);
    let decade = items.year(target).map(|y| y.div_euclid(10) * 10);
    // Anchors: distinct history items (not the target) sharing an informative genre with it.
    let mut anchors: Vec<u32> = history
        .iter()
        .copied()
        .filter(|&h| h != target && informative_genres(items, h).iter().any(|g| genres.contains(g)))
        .collect();
    anchors.sort_unstable();
    anchors.dedup();
    let ok = |n: Needs| match n {
        Needs::GenreDecade => !genres.is_empty() && decade.is_some(),
        Needs::LikeGenre => !genres.is_empty() && !anchors.is_empty(),
        Needs::GenrePair => genres.len() >= 2,
        Needs::LikeDecade => decade.is_some() && !anchors.is_empty(),
        Needs::GenreDecadeLike => !genres.is_empty() && decade.is_some() && !anchors.is_empty(),
    };
    let usable: Vec<&Template> = TEMPLATES.iter().filter(|t| ok(t.needs)).collect();
    if usable.is_empty() {
        return None;
    }
    let t = usable[rng.random_range(0..usable.len())];
    let uses_genre = matches!(
        t.needs,
        Needs::GenreDecade | Needs::LikeGenre | Needs::GenrePair | Needs::GenreDecadeLike
    );
    let uses_decade =
        matches!(t.needs, Needs::GenreDecade | Needs::LikeDecade | Needs::GenreDecadeLike);
    let uses_like =
        matches!(t.needs, Needs::LikeGenre | Needs::LikeDecade | Needs::GenreDecadeLike);
    let (mut hard, mut soft) = (Vec::new(), Vec::new());
    let mut text = t.text.to_string();
    if uses_genre {
        let i = rng.random_range(0..genres.len());
        text = text.replace("{genre}", &genres[i].to_lowercase());
        hard.push(Condition::Genre(genres[i].to_string()));
        if t.needs == Needs::GenrePair {
            let mut j = rng.random_range(0..genres.len() - 1);
            if j >= i {
                j += 1;
            }
            text = text.replace("{genre2}", &genres[j].to_lowercase());
            hard.push(Condition::Genre(genres[j].to_string()));
        }
    }
    if uses_decade {
        let d = decade.expect("checked by `ok`");
        text = text.replace("{decade}", &format!("{d}s"));
        hard.push(Condition::Decade(d));
    }
    if uses_like {
        let a = anchors[rng.random_range(0..anchors.len())];
        text = text.replace("{title}", &display_title(items, a));
        soft.push(Soft::LikeItem(a));
    }
    Some(Request { user, target, template: t.id.to_string(), text, hard, soft })
}

/// Hard conditions mentioned in a free-text request (for `quadrec chat`): catalogue genres
/// named as words, and decades written `1980s`, `80s` or `'80s`.
pub fn parse_conditions(items: &ItemTable, text: &str) -> Vec<Condition> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    let mut vocab: Vec<&str> = items.genres.iter().flatten().map(String::as_str).collect();
    vocab.sort_unstable();
    vocab.dedup();
    let mut out = Vec::new();
    for g in vocab {
        if UNINFORMATIVE.iter().any(|u| u.eq_ignore_ascii_case(g)) {
            continue;
        }
        let gl = g.to_lowercase();
        // Plurals ("thrillers", "comedies") only for genres of 5+ letters, so that e.g.
        // "Star Wars" does not read as the genre War.
        let plural = |w: &str| {
            gl.len() >= 5
                && (w.strip_suffix('s') == Some(gl.as_str())
                    || (gl.ends_with('y') && w.strip_suffix("ies") == gl.strip_suffix('y')))
        };
        if words.iter().any(|w| *w == gl || plural(w)) {
            out.push(Condition::Genre(g.to_string()));
        }
    }
    for w in &words {
        let w = w.trim_start_matches('\'');
        let Some(num) = w.strip_suffix('s') else { continue };
        if !num.ends_with('0') || !num.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let d = match num.len() {
            4 => num.parse::<i32>().ok(),
            // Two-digit decades are read as the 1900s (MovieLens' catalogue), except 00s/10s.
            2 => num.parse::<i32>().ok().map(|d| if d <= 20 { 2000 + d } else { 1900 + d }),
            _ => None,
        };
        if let Some(d) = d
            && !out.contains(&Condition::Decade(d))
        {
            out.push(Condition::Decade(d));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::titled_items;

    #[test]
    fn composed_requests_are_seeded_and_their_hard_conditions_hold_for_the_target() {
        let items = titled_items();
        let n = items.len() as u32;
        let mut templates = std::collections::BTreeSet::new();
        for user in 0..40u32 {
            let target = user % n;
            let history: Vec<u32> = (0..n).filter(|&i| i != target).collect();
            let a = compose(&items, user, target, &history, Seed(3)).expect("a template applies");
            let b = compose(&items, user, target, &history, Seed(3)).unwrap();
            assert_eq!(a, b, "same seed, same request");
            assert!(!a.hard.is_empty(), "every template has a hard condition");
            assert!(satisfies_all(&items, target, &a.hard), "{a:?}");
            assert!(!a.text.contains('{'), "unfilled slot in {:?}", a.text);
            for s in &a.soft {
                let Soft::LikeItem(h) = s;
                assert!(history.contains(h) && *h != target);
                assert!(a.text.contains(&display_title(&items, *h)));
            }
            templates.insert(a.template.clone());
        }
        assert!(templates.len() >= 4, "templates drawn: {templates:?}");
        // A different seed changes at least one request.
        let differs = (0..40u32).any(|u| {
            let h: Vec<u32> = (0..n).filter(|&i| i != u % n).collect();
            compose(&items, u, u % n, &h, Seed(3)) != compose(&items, u, u % n, &h, Seed(4))
        });
        assert!(differs);
        assert_eq!(templates_sha256().len(), 64);
    }

    #[test]
    fn hard_condition_checker() {
        let items = titled_items();
        // Item 0: Toy Story (1995) [Animation, Children's, Comedy].
        assert!(Condition::Genre("comedy".into()).holds(&items, 0));
        assert!(!Condition::Genre("Horror".into()).holds(&items, 0));
        assert!(Condition::Decade(1990).holds(&items, 0));
        assert!(!Condition::Decade(1980).holds(&items, 0));
        assert!(satisfies_all(&items, 0, &[]));
        assert!(!satisfies_all(
            &items,
            0,
            &[Condition::Genre("Comedy".into()), Condition::Decade(1970)]
        ));
        assert_eq!(Condition::Decade(1980).label(), "decade=1980s");
    }

    #[test]
    fn free_text_conditions_and_titles() {
        let items = titled_items();
        let c =
            parse_conditions(&items, "A funny comedy from the 80s, or a Thriller of the 1990s?");
        assert_eq!(
            c,
            vec![
                Condition::Genre("Comedy".into()),
                Condition::Genre("Thriller".into()),
                Condition::Decade(1980),
                Condition::Decade(1990)
            ]
        );
        assert!(parse_conditions(&items, "anything good?").is_empty());
        let mut with_war = items.clone();
        with_war.genres[9].push("War".into());
        assert!(parse_conditions(&with_war, "like Star Wars").is_empty(), "Wars is not War");
        assert_eq!(
            parse_conditions(&with_war, "a war movie"),
            vec![Condition::Genre("War".into())]
        );
        assert_eq!(display_title(&items, 2), "The Usual Suspects");
    }
}
