//! Survey metadata attached to every registry entry: where a method sits in the taxonomy of
//! Lin et al., "How Can Recommender Systems Benefit from Large Language Models" (stage, task,
//! quadrant), plus the conventional family used to group baselines in reports.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The stage of the recommendation pipeline the (language) model is adapted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Feature engineering: the LM augments raw user/item features or data.
    FeatureEngineering,
    /// Feature encoder: the LM encodes text/ids into representations a CRM consumes.
    FeatureEncoder,
    /// Scoring/ranking: the model produces the ranking scores themselves. Conventional
    /// recommenders (CRMs) sit here.
    ScoringRanking,
    /// User interaction: conversational / interactive recommendation.
    UserInteraction,
    /// Pipeline controller: the LM orchestrates the pipeline.
    PipelineController,
}

/// The task the method solves within its stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Top-N ranking: a score for every item of the catalogue (or of a candidate set), used to
    /// rank. All collaborative-filtering and sequential CRMs.
    TopNRanking,
    /// Item scoring (pointwise): the probability that the user engages with one given item
    /// (CTR prediction). The survey's "item scoring task".
    ItemScoring,
    /// Item generation: the model generates the next item (id or title) directly.
    ItemGeneration,
    /// Hybrid of scoring and generation.
    Hybrid,
    /// Feature augmentation (user or item side).
    FeatureAugmentation,
    /// Representation encoding (user, item or text embeddings).
    RepresentationEncoding,
    /// Conversational interaction.
    Conversation,
    /// Pipeline control.
    PipelineControl,
}

/// Quadrant of the survey's "how to adapt" map (LM tuned or not; CRM at inference or not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    /// No language model at all: a conventional recommender (the baselines).
    Conventional,
    /// Q1: tuned LM, CRM used at inference.
    Q1,
    /// Q2: frozen LM, CRM used at inference.
    Q2,
    /// Q3: frozen LM alone.
    Q3,
    /// Q4: tuned LM alone.
    Q4,
}

/// Conventional method family (for grouping baselines in leaderboards).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Non-personalised reference scorers (random, popularity).
    NonPersonalised,
    /// Item-item neighbourhood models.
    Neighbourhood,
    /// Linear item-item models (EASE, SLIM).
    Linear,
    /// Latent-factor models (MF).
    Factorisation,
    /// Graph neural collaborative filtering.
    Graph,
    /// Sequential (session / next-item) models.
    Sequential,
    /// Pointwise click-through-rate models over (user, history, item) features.
    Ctr,
    /// Language-model based.
    LanguageModel,
}

macro_rules! display_via_serde {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // The serde name is the stable, documented spelling used in files and reports.
                let v = serde_json::to_value(self).map_err(|_| fmt::Error)?;
                f.write_str(v.as_str().ok_or(fmt::Error)?)
            }
        }
    )*};
}
display_via_serde!(Stage, Task, Quadrant, Family);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_the_serde_spelling() {
        assert_eq!(Stage::ScoringRanking.to_string(), "scoring_ranking");
        assert_eq!(Task::TopNRanking.to_string(), "top_n_ranking");
        assert_eq!(Quadrant::Q2.to_string(), "q2");
        assert_eq!(Family::Ctr.to_string(), "ctr");
        let q: Quadrant = serde_json::from_str("\"conventional\"").unwrap();
        assert_eq!(q, Quadrant::Conventional);
    }
}
