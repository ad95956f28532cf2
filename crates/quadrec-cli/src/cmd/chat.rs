//! `quadrec chat`: a conversational recommender session in the terminal (the survey's
//! user-interaction stage), and `quadrec chat --bench` for the conversational benchmark.
//!
//! The session reads one line at a time from stdin, so it is scriptable through a pipe:
//! `/user <raw id>` picks a user (their seen items are excluded and, with the personalised
//! methods, their taste is used), `/cold` forgets the user, `/method <m>`, `/k <n>`, `/help`,
//! `/quit`; any other line is a request and gets K recommendations with titles on stdout.
//! Progress goes to stderr; the `> ` prompt only appears on a terminal. Errors in a line are
//! reported as `error: ...` on stderr and the session continues; when stdin is not a terminal
//! the exit code is then 1 (a script learns that a line failed).

use anyhow::Context;
use clap::Args;
use quadrec_core::Seed;
use quadrec_lmconv::bench::{BenchConfig, render_markdown, run_bench};
use quadrec_lmconv::conv::{ConvConfig, ConvMethod, ConvRecommender};
use quadrec_lmconv::request::{display_title, parse_conditions};
use quadrec_split::{Split, SplitSpec};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Chat arguments.
#[derive(Args, Debug)]
pub struct ChatArgs {
    /// Dataset id (built-in name such as `ml-100k`, a processed dataset folder, or
    /// `<format>:<folder>`).
    #[arg(long, short, default_value = "ml-100k")]
    pub dataset: String,
    /// Method: `retrieval` (MiniLM), `personalised` (MiniLM + CRM blend), `rerank` (SmolLM2
    /// re-ranks the personalised top-N).
    #[arg(long, short, default_value = "personalised", value_parser = ["retrieval", "personalised", "rerank"])]
    pub method: String,
    /// Recommendations per request.
    #[arg(long, short, default_value_t = 10)]
    pub k: usize,
    /// Start with this user (raw id as in the dataset files).
    #[arg(long, short)]
    pub user: Option<String>,
    /// CRM used for personalisation (a top-N method id of the registry).
    #[arg(long, default_value = "ease")]
    pub crm: String,
    /// Blend weight of the CRM's z-scores (chat; the benchmark selects it on validation).
    #[arg(long, default_value_t = 0.5)]
    pub blend: f32,
    /// Candidates re-ranked by the LM.
    #[arg(long, default_value_t = 20)]
    pub rerank_n: usize,
    /// Seed (CRM fit; benchmark user sample and requests).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run the conversational benchmark instead of a session; write its JSON record here (and
    /// a Markdown table next to it, `.md`).
    #[arg(long)]
    pub bench: Option<PathBuf>,
    /// Benchmark: test users sampled.
    #[arg(long, default_value_t = 200)]
    pub bench_users: usize,
}

const HELP: &str = "commands: /user <id> (pick a user), /cold (no user), /method retrieval|personalised|rerank, /k <n>, /help, /quit; anything else is a request, e.g. `a comedy from the 80s`";

/// Run `quadrec chat`.
pub fn run(a: ChatArgs) -> anyhow::Result<ExitCode> {
    let mut method = ConvMethod::parse(&a.method).map_err(anyhow::Error::msg)?;
    eprintln!("loading dataset `{}` ...", a.dataset);
    let d = quadrec_runner::prepare::load_dataset(&a.dataset)?;
    let split = Split::make(&d, &SplitSpec::Loo).context("leave-one-out split")?;
    let (train, held) = split.into_parts(&d);
    let config = ConvConfig {
        crm: a.crm.clone(),
        blend: a.blend,
        rerank_n: a.rerank_n,
        ..ConvConfig::default()
    };
    if let Some(out) = &a.bench {
        let cfg = BenchConfig {
            users: a.bench_users,
            k: a.k,
            seed: a.seed,
            conv: config,
            ..BenchConfig::default()
        };
        let r = run_bench(&d.id, &train, &held, &cfg, |m| eprintln!("{m}"))?;
        let json = serde_json::to_vec_pretty(&r)?;
        quadrec_core::fsx::write_atomic(out, &json)
            .with_context(|| format!("writing {}", out.display()))?;
        let md = render_markdown(&r);
        let md_path = out.with_extension("md");
        quadrec_core::fsx::write_atomic(&md_path, md.as_bytes())
            .with_context(|| format!("writing {}", md_path.display()))?;
        println!("{md}");
        eprintln!("wrote {} and {}", out.display(), md_path.display());
        return Ok(ExitCode::SUCCESS);
    }
    // Everything the user interacted with, in time order (what a product would exclude).
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); d.n_users() as usize];
    for r in &d.interactions {
        seen[r.user as usize].push(r.item);
    }
    let find_user = |raw: &str| -> anyhow::Result<u32> {
        d.users.raw_ids.iter().position(|r| r == raw).map(|u| u as u32).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown user `{raw}`: dataset `{}` has {} users (raw ids as in its files, e.g. `{}`)",
                d.id,
                d.users.len(),
                d.users.raw_ids.first().map(String::as_str).unwrap_or("?")
            )
        })
    };
    let mut user = match &a.user {
        Some(raw) => Some(find_user(raw)?),
        None => None,
    };
    eprintln!("fitting `{}` on the training split and embedding the catalogue ...", a.crm);
    let mut rec = ConvRecommender::new(&train, config, true, Seed(a.seed))?;
    let mut k = a.k.max(1);
    let interactive = std::io::stdin().is_terminal();
    eprintln!("ready ({} items). {HELP}", rec.items().len());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let report = |failed: &mut bool, msg: String| {
        eprintln!("error: {msg}");
        *failed = true;
    };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            eprint!("> ");
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("reading stdin")?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(cmd) = line.strip_prefix('/') {
            let (name, arg) = cmd.split_once(' ').unwrap_or((cmd, ""));
            let arg = arg.trim();
            match name {
                "quit" | "exit" => break,
                "help" => writeln!(out, "{HELP}")?,
                "cold" => {
                    user = None;
                    writeln!(out, "cold start: no user")?;
                }
                "user" => match find_user(arg) {
                    Ok(u) => {
                        user = Some(u);
                        let h = &seen[u as usize];
                        let recent: Vec<String> = h
                            .iter()
                            .rev()
                            .take(3)
                            .map(|&i| display_title(rec.items(), i))
                            .collect();
                        writeln!(
                            out,
                            "user {arg}: {} items seen; recent: {}",
                            h.len(),
                            recent.join("; ")
                        )?;
                    }
                    Err(e) => report(&mut failed, e.to_string()),
                },
                "method" => match ConvMethod::parse(arg) {
                    Ok(m) => {
                        method = m;
                        writeln!(out, "method: {}", m.name())?;
                    }
                    Err(e) => report(&mut failed, e),
                },
                "k" => match arg.parse::<usize>() {
                    Ok(n) if n > 0 => {
                        k = n;
                        writeln!(out, "k: {k}")?;
                    }
                    _ => report(&mut failed, format!("/k needs a positive integer, got `{arg}`")),
                },
                other => report(&mut failed, format!("unknown command `/{other}`; {HELP}")),
            }
            out.flush()?;
            continue;
        }
        let hist = user.map(|u| (u, seen[u as usize].as_slice()));
        match rec.recommend(method, hist, line, k) {
            Ok(recs) => {
                let conds = parse_conditions(rec.items(), line);
                for (n, r) in recs.iter().enumerate() {
                    let items = rec.items();
                    let year = items.year(r.item).map(|y| format!(" ({y})")).unwrap_or_default();
                    let genres = items.genres(r.item).join(", ");
                    let checks: Vec<String> = conds
                        .iter()
                        .map(|c| {
                            format!(
                                "{}:{}",
                                c.label(),
                                if c.holds(items, r.item) { "yes" } else { "no" }
                            )
                        })
                        .collect();
                    let checks = if checks.is_empty() {
                        String::new()
                    } else {
                        format!("  [{}]", checks.join(" "))
                    };
                    writeln!(
                        out,
                        "{:>2}. {}{year}  {{{genres}}}  score {:.3}{checks}",
                        n + 1,
                        display_title(items, r.item),
                        r.score
                    )?;
                }
                out.flush()?;
            }
            Err(e) => report(&mut failed, e.to_string()),
        }
    }
    Ok(if failed && !interactive { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
