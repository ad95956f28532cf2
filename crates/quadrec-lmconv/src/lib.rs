//! User interaction and pipeline control, the two LM stages of the survey besides scoring and
//! feature work (Lin et al., "How Can Recommender Systems Benefit from Large Language Models").
//!
//! - [`request`]: natural-language requests composed from a held-out item's attributes (genre,
//!   decade, "something like <title>"), seeded, with hard conditions that are true of the item.
//! - [`conv`]: three recommenders for free-text requests (MiniLM retrieval, CRM-personalised
//!   retrieval, SmolLM2 Yes/No re-ranking); used by the benchmark and by `quadrec chat`.
//! - [`bench`]: the conversational benchmark (hit@K and hard-condition rate with bootstrap CIs
//!   and paired lifts).
//! - [`pipeline`]: registered methods `pipeline` (retriever CRM -> top-N -> LM re-ranker) and
//!   `controller` (only users with a small retriever margin go to the LM, under a budget).
//! - [`suite`]: registered methods `conv-retrieval`, `conv-personalised` and `conv-rerank` (the
//!   three recommenders of [`conv`] reading each user's request through
//!   `Method::score_request`; the runner's `conv` views).
//! - [`yesno`]: the Yes/No scorer on SmolLM2 with one shared prefix per query.

pub mod bench;
pub mod conv;
#[cfg(test)]
mod fixture;
pub mod pipeline;
pub mod request;
pub mod suite;
pub mod yesno;

use quadrec_method::{Family, MethodEntry, Quadrant, Stage, Task};

fn pipeline_defaults() -> serde_json::Value {
    serde_json::to_value(pipeline::PipelineParams::default()).expect("params serialise")
}

fn controller_defaults() -> serde_json::Value {
    serde_json::to_value(pipeline::ControllerParams::default()).expect("params serialise")
}

fn retrieval_defaults() -> serde_json::Value {
    serde_json::to_value(suite::RetrievalParams::default()).expect("params serialise")
}

fn personalised_defaults() -> serde_json::Value {
    serde_json::to_value(suite::PersonalisedParams::default()).expect("params serialise")
}

fn rerank_defaults() -> serde_json::Value {
    serde_json::to_value(suite::RerankParams::default()).expect("params serialise")
}

/// Registry lines of this crate, in leaderboard order (appended to the runner's registry).
pub const CONV_TABLE: &[MethodEntry] = &[
    MethodEntry {
        id: "pipeline",
        display_name: "CRM->LM pipeline",
        stage: Stage::PipelineController,
        task: Task::PipelineControl,
        quadrant: Quadrant::Q2,
        family: Family::LanguageModel,
        trained: false,
        default_params: pipeline_defaults,
        build: pipeline::build_pipeline,
        smoke_params: pipeline::smoke_pipeline,
    },
    MethodEntry {
        id: "controller",
        display_name: "Budgeted LM controller",
        stage: Stage::PipelineController,
        task: Task::PipelineControl,
        quadrant: Quadrant::Q2,
        family: Family::LanguageModel,
        trained: false,
        default_params: controller_defaults,
        build: pipeline::build_controller,
        smoke_params: pipeline::smoke_controller,
    },
    MethodEntry {
        id: suite::RETRIEVAL_ID,
        display_name: "Conv: MiniLM retrieval",
        stage: Stage::UserInteraction,
        task: Task::Conversation,
        quadrant: Quadrant::Q3,
        family: Family::LanguageModel,
        trained: false,
        default_params: retrieval_defaults,
        build: suite::build_retrieval,
        smoke_params: suite::smoke_retrieval,
    },
    MethodEntry {
        id: suite::PERSONALISED_ID,
        display_name: "Conv: CRM-personalised retrieval",
        stage: Stage::UserInteraction,
        task: Task::Conversation,
        quadrant: Quadrant::Q2,
        family: Family::LanguageModel,
        trained: false,
        default_params: personalised_defaults,
        build: suite::build_personalised,
        smoke_params: suite::smoke_personalised,
    },
    MethodEntry {
        id: suite::RERANK_ID,
        display_name: "Conv: SmolLM2 re-rank",
        stage: Stage::UserInteraction,
        task: Task::Conversation,
        quadrant: Quadrant::Q2,
        family: Family::LanguageModel,
        trained: false,
        default_params: rerank_defaults,
        build: suite::build_rerank,
        smoke_params: suite::smoke_rerank,
    },
];

#[cfg(test)]
mod tests {
    //! Registry checks, and the pipeline / controller / conversational methods on tiny titled
    //! data with the real pinned models (SmolLM2-135M-Instruct, all-MiniLM-L6-v2).

    use super::*;
    use crate::conv::{ConvConfig, ConvMethod, ConvRecommender};
    use crate::fixture::{CRIME, FAMILY, titled_train};
    use crate::pipeline::controller_from;
    use quadrec_core::Seed;
    use quadrec_method::{FitContext, Method, UserQuery, find_entry, harness};

    #[test]
    fn registry_entries_have_valid_params_and_metadata() {
        harness::check_unique_ids(CONV_TABLE);
        for e in CONV_TABLE {
            harness::check_params(e);
            let (_, m) = e.build_with(&[]).unwrap();
            let p = m.provenance();
            if e.stage == Stage::UserInteraction {
                assert!(m.reads_requests(), "{}", e.id);
                assert!(p.weight_hashes.contains_key("all-MiniLM-L6-v2"), "{}", e.id);
                if e.id != suite::RERANK_ID {
                    assert!(p.prompt_hashes.is_empty(), "{}: no LM prompt", e.id);
                    continue;
                }
            } else {
                assert_eq!(e.stage, Stage::PipelineController);
                assert_eq!(e.quadrant, Quadrant::Q2);
                assert!(!m.reads_requests(), "{}", e.id);
            }
            assert_eq!(p.prompt_hashes.len(), 3, "{}: prompt hashes before fit", e.id);
            assert!(p.weight_hashes.contains_key("SmolLM2-135M-Instruct"));
        }
        let bad = serde_json::json!({"blend_grid": [1.5]});
        let e = find_entry(CONV_TABLE, suite::PERSONALISED_ID).unwrap();
        assert!(e.build_with(&[("suite", &bad)]).is_err(), "blend outside [0, 1]");
        // Nested retriever params are checked against the retriever's real keys.
        let e = find_entry(CONV_TABLE, "pipeline").unwrap();
        let bad = serde_json::json!({"retriever_params": {"ease": {"reg_wieght": 1.0}}});
        let err = e.build_with(&[("suite", &bad)]).err().expect("misspelt nested key");
        assert!(err.to_string().contains("reg_weight"), "{err}");
        let bad = serde_json::json!({"retriever": "lr"});
        assert!(e.build_with(&[("suite", &bad)]).is_err(), "a CTR model is not a retriever");
        let bad = serde_json::json!({"budget": 1.5});
        let c = find_entry(CONV_TABLE, "controller").unwrap();
        assert!(c.build_with(&[("suite", &bad)]).is_err());
    }

    fn fit(m: &mut dyn Method) {
        let train = titled_train();
        m.fit(&train, &mut FitContext::new(Seed(1))).expect("fit");
    }

    /// Test-time history of the tiny data: the user's train items.
    fn history(u: u32) -> Vec<u32> {
        titled_train().user_items(u).to_vec()
    }

    /// With the EASE retriever (closed form) and the frozen LM, the pipeline and the controller
    /// read the seed nowhere: fits with different seeds give bit-identical scores, which is
    /// what lets full.toml run them on one seed (`seeds = [0]`).
    #[test]
    fn pipeline_and_controller_with_ease_do_not_depend_on_the_seed() {
        for id in ["pipeline", "controller"] {
            let e = find_entry(CONV_TABLE, id).unwrap();
            let smoke = (e.smoke_params)();
            assert_eq!(smoke["retriever"], "ease");
            let scores = |seed: u64| {
                let (_, mut m) = e.build_with(&[("smoke", &smoke)]).unwrap();
                m.fit(&titled_train(), &mut FitContext::new(Seed(seed))).expect("fit");
                let users = [0u32, 1, 6, 7];
                let hs: Vec<Vec<u32>> = users.iter().map(|&u| history(u)).collect();
                let qs: Vec<UserQuery> = users
                    .iter()
                    .zip(&hs)
                    .map(|(&u, h)| UserQuery { user: u, history: h })
                    .collect();
                let mut full = vec![f32::NAN; qs.len() * 16];
                m.score_full(&qs, &mut full).unwrap();
                full.iter().map(|x| x.to_bits()).collect::<Vec<u32>>()
            };
            assert_eq!(scores(1), scores(2), "{id}: scores depend on the seed");
        }
    }

    #[test]
    fn pipeline_scores_are_finite_shaped_deterministic_and_lm_reranked() {
        let e = find_entry(CONV_TABLE, "pipeline").unwrap();
        let smoke = (e.smoke_params)();
        let run = || {
            let (_, mut m) = e.build_with(&[("smoke", &smoke)]).unwrap();
            fit(m.as_mut());
            // Users of both taste groups (0..3 family, 6..9 crime).
            let users = [0u32, 1, 2, 6, 7, 8];
            let hs: Vec<Vec<u32>> = users.iter().map(|&u| history(u)).collect();
            let qs: Vec<UserQuery> =
                users.iter().zip(&hs).map(|(&u, h)| UserQuery { user: u, history: h }).collect();
            let mut full = [f32::NAN; 2 * 16];
            m.score_full(&qs[..2], &mut full[..2 * 16]).unwrap();
            let mut short = vec![0f32; 15];
            assert!(m.score_full(&qs[..1], &mut short).is_err(), "short buffer accepted");
            let cands: Vec<u32> = vec![0, 2, 5, 8, 11, 14];
            let mut per_user = Vec::new();
            for q in &qs {
                let mut out = vec![f32::NAN; cands.len()];
                m.score_items(q, &cands, &mut out).unwrap();
                per_user.push(out);
            }
            (full[..2 * 16].to_vec(), per_user, m.lm_tokens())
        };
        let (full, per_user, tokens) = run();
        assert!(full.iter().all(|s| s.is_finite()));
        assert!(tokens > 0, "the LM was used");
        for row in full.chunks(16) {
            // Exactly top_n = 3 items carry an LM probability, the rest sit below -1.
            assert_eq!(row.iter().filter(|s| (0.0..=1.0).contains(*s)).count(), 3);
            assert_eq!(row.iter().filter(|s| **s <= -1.0).count(), 13);
        }
        for out in &per_user {
            assert!(out.iter().all(|s| s.is_finite()));
            assert_eq!(out.iter().filter(|s| (0.0..=1.0).contains(*s)).count(), 3);
        }
        let (full2, per_user2, _) = run();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&full), bits(&full2), "same seed, same scores");
        for (a, b) in per_user.iter().zip(&per_user2) {
            assert_eq!(bits(a), bits(b));
        }
    }

    #[test]
    fn controller_never_exceeds_its_lm_call_budget() {
        let hs: Vec<Vec<u32>> = (0..12).map(history).collect();
        let cands: Vec<u32> = (0..16).collect();
        let mut base = None;
        for budget in [0.0, 0.25, 1.0] {
            let mut v = pipeline::smoke_controller();
            v["budget"] = serde_json::json!(budget);
            let mut m = controller_from(&v).unwrap();
            fit(&mut m);
            let mut scores = Vec::new();
            for u in 0..12u32 {
                let q = UserQuery { user: u, history: &hs[u as usize] };
                let mut out = vec![f32::NAN; cands.len()];
                m.score_items(&q, &cands, &mut out).unwrap();
                assert!(out.iter().all(|s| s.is_finite()));
                // The cap holds after every call, not only at the end.
                let cap = (budget * (u + 1) as f64).ceil() as u64;
                assert!(m.lm_calls() <= cap, "budget {budget}: {} calls > {cap}", m.lm_calls());
                scores.push(out);
            }
            assert_eq!(m.users_scored(), 12);
            match budget {
                0.0 => {
                    assert_eq!((m.lm_calls(), m.lm_tokens()), (0, 0));
                    base = Some(scores);
                }
                1.0 => assert_eq!(m.lm_calls(), 12),
                _ => {
                    assert!(m.lm_calls() >= 1, "a positive budget is used");
                    // Users not sent to the LM keep exactly the retriever's scores.
                    let b = base.as_ref().unwrap();
                    let same = scores.iter().zip(b).filter(|(a, b)| a == b).count() as u64;
                    assert_eq!(same, 12 - m.lm_calls());
                }
            }
        }
    }

    #[test]
    fn conversational_methods_respect_history_and_return_titled_items() {
        let train = titled_train();
        let cfg = ConvConfig {
            crm_params: serde_json::json!({"reg_weight": 10.0}),
            rerank_n: 5,
            ..ConvConfig::default()
        };
        let mut rec = ConvRecommender::new(&train, cfg, true, Seed(2)).unwrap();
        // User 7 is in the crime group.
        let h = history(7);
        for m in ConvMethod::ALL {
            let top =
                rec.recommend(m, Some((7, &h)), "a crime thriller from the 1990s", 3).unwrap();
            assert_eq!(top.len(), 3, "{m:?}");
            assert!(top.iter().all(|r| !h.contains(&r.item) && r.score.is_finite()), "{m:?}");
            let crime = top.iter().filter(|r| CRIME.contains(&r.item)).count();
            assert!(crime >= 2, "{m:?}: {top:?}");
        }
        // Cold start works; an unknown user is an error naming the user.
        let cold = rec.recommend(ConvMethod::Retrieval, None, "an animated musical", 2).unwrap();
        assert!(cold.iter().all(|r| FAMILY.contains(&r.item)), "{cold:?}");
        let err = rec.recommend(ConvMethod::Retrieval, Some((99, &[])), "x", 2).unwrap_err();
        assert!(err.to_string().contains("unknown user 99"), "{err}");
        assert!(rec.lm_tokens() > 0);
    }

    /// The suite methods answer requests over the whole catalogue (history below everything
    /// else), refuse request-free scoring, select the blend weight through the probe (the
    /// value of the best grid point is the reported validation value), and the re-ranker puts
    /// its re-ranked top-N above the personalised rest.
    #[test]
    fn suite_methods_score_requests_and_select_the_blend_on_the_probe() {
        let train = titled_train();
        let n = train.n_items() as usize;
        let h = history(7);
        let q = UserQuery { user: 7, history: &h };
        let text = "a crime thriller from the 1990s";
        for e in CONV_TABLE.iter().filter(|e| e.stage == Stage::UserInteraction) {
            let (_, mut m) = e.build_with(&[("smoke", &(e.smoke_params)())]).unwrap();
            // The probe prefers a larger blend weight: the method must keep the best one.
            let mut calls = Vec::new();
            let mut probe = |m: &dyn Method| {
                let mut out = vec![0f32; n];
                m.score_request(&q, text, &mut out).unwrap();
                let v = out.iter().filter(|x| **x > 0.0).count() as f64 + calls.len() as f64;
                calls.push(v);
                v
            };
            let report = {
                let mut ctx = FitContext::new(Seed(1));
                ctx.probe = Some(&mut probe);
                m.fit(&train, &mut ctx).unwrap()
            };
            let mut out = vec![f32::NAN; n];
            m.score_request(&q, text, &mut out).unwrap();
            assert!(out.iter().all(|x| x.is_finite()), "{}", e.id);
            for &i in &h {
                assert_eq!(out[i as usize], -1e9, "{}: history item {i} not excluded", e.id);
            }
            let mut order: Vec<usize> = (0..n).filter(|&i| out[i] > 0.0).collect();
            order.sort_by(|&a, &b| out[b].total_cmp(&out[a]));
            assert_eq!(order.len(), n - h.len(), "{}: every eligible item ranked", e.id);
            let top3 = order[..3].iter().filter(|&&i| CRIME.contains(&(i as u32))).count();
            assert!(top3 >= 2, "{}: {order:?}", e.id);
            let mut buf = vec![0f32; n];
            assert!(m.score_full(&[q], &mut buf).is_err(), "{}: request-free scoring", e.id);
            match e.id {
                suite::PERSONALISED_ID => {
                    // Two grid points, the second probe call scores higher by construction.
                    assert_eq!(calls.len(), 2);
                    assert_eq!(report.best_valid, Some(calls[1]));
                }
                suite::RERANK_ID => {
                    assert!(calls.is_empty(), "a single blend value needs no probe");
                    assert!(m.lm_tokens() > 0);
                    // Exactly rerank_n = 3 items sit above the personalised scale (> n).
                    assert_eq!(out.iter().filter(|x| **x > n as f32).count(), 3);
                }
                _ => {
                    assert!(calls.is_empty());
                    assert_eq!(m.lm_tokens(), 0);
                }
            }
        }
    }
}
