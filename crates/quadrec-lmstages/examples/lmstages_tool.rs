//! Helper commands for the lmstages benchmark on ML-100K (LOO split, the suite's protocol):
//!
//! - `kar-precompute [--items N] [--users N] [--item-tokens T] [--user-tokens T] [--batch B]`:
//!   writes KAR's SmolLM2 item knowledge and user summaries (train history only) into the
//!   generation cache (`cache_dir()/lmstages/generated`), so that suite runs with the same
//!   params read them without an LM call. Prints counts, LM tokens, wall time and samples.
//! - `targets OUT.csv`: per test user, the test target item and its number of TRAIN
//!   interactions (for the cold-start breakdown of per-user results).
//!
//! `cargo run --release -p quadrec-lmstages --example lmstages_tool -- kar-precompute`

use quadrec_core::Seed;
use quadrec_lmstages::kar::{Kar, KarParams};
use quadrec_method::FitContext;
use quadrec_split::{Split, SplitSpec, Stage};
use std::error::Error;

fn load() -> Result<(quadrec_split::TrainView, quadrec_split::HeldOut), Box<dyn Error>> {
    let b = quadrec_data::builtin::builtin("ml-100k")?;
    let raw = b.fetch_raw(&quadrec_assets::FetchOptions::from_env())?;
    let d = quadrec_data::process::process(b.name, raw, &(b.spec)())?;
    let s = Split::make(&d, &SplitSpec::Loo)?;
    // Compare with the `split_hash` of the run's records: same split, same targets.
    eprintln!("dataset {} split {}", d.id, s.id());
    Ok(s.into_parts(&d))
}

fn arg(args: &[String], name: &str, default: usize) -> Result<usize, Box<dyn Error>> {
    match args.iter().position(|a| a == name) {
        Some(k) => Ok(args.get(k + 1).ok_or(format!("{name} needs a value"))?.parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("kar-precompute") => {
            let (train, _) = load()?;
            let d = KarParams::default();
            let p = KarParams {
                item_budget: arg(&args, "--items", d.item_budget)?,
                user_budget: arg(&args, "--users", d.user_budget)?,
                item_max_new_tokens: arg(&args, "--item-tokens", d.item_max_new_tokens)?,
                user_max_new_tokens: arg(&args, "--user-tokens", d.user_max_new_tokens)?,
                gen_batch: arg(&args, "--batch", d.gen_batch)?,
                ..d
            };
            let mut k = Kar::new(p, quadrec_lmstages::generate::default_dir());
            let mut log = |e: &quadrec_method::FitEvent| eprintln!("{e:?}");
            // Seed 0: the seed tree a suite cell with seed 0 gives the method (user sample).
            let mut ctx = FitContext::new(Seed(0)).with_log(&mut log);
            let t0 = std::time::Instant::now();
            let texts = k.write_texts(&train, &mut ctx)?;
            println!(
                "items {} users {} lm_calls {} lm_tokens {} wall {:.1}s",
                texts.items.len(),
                texts.users.len(),
                k.lm_calls,
                quadrec_method::Method::lm_tokens(&k),
                t0.elapsed().as_secs_f64()
            );
            for (i, t) in texts.items.iter().take(3) {
                println!("item {i} [{}]: {t}", train.items().titles[*i as usize]);
            }
            for (u, t) in texts.users.iter().take(2) {
                println!("user {u}: {t}");
            }
        }
        Some("targets") => {
            let out = args.get(1).ok_or("targets OUT.csv")?;
            let (train, held) = load()?;
            let pop = train.item_popularity();
            let mut s = String::from("user,target,target_train_interactions\n");
            for u in held.users(Stage::Test) {
                for t in held.targets(Stage::Test, u) {
                    s.push_str(&format!("{u},{},{}\n", t.item, pop[t.item as usize]));
                }
            }
            quadrec_core::fsx::write_atomic(std::path::Path::new(out), s.as_bytes())?;
        }
        _ => return Err("usage: lmstages_tool kar-precompute [...] | targets OUT.csv".into()),
    }
    Ok(())
}
