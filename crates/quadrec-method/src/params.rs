//! Typed method params: defaults <- suite file <- command line, with unknown keys rejected and a
//! "did you mean" suggestion.
//!
//! Each method defines a params struct with `#[serde(deny_unknown_fields, default)]`, a `///` doc
//! on every field and a `Default` equal to its reference recipe. Layers are merged as JSON
//! objects over the serialised defaults ([`merge_params`]); every key of every layer must exist in
//! the defaults, so a misspelling fails early, naming the method, the layer and the closest valid
//! key, instead of silently training with a default. The merged object is then deserialised
//! into the typed struct ([`parse_params`]).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why params could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    /// A key that the method does not have.
    #[error(
        "method `{method}`: unknown param `{key}` in {layer}{}; valid params: {}",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        valid.join(", ")
    )]
    UnknownKey {
        /// Registry id of the method.
        method: String,
        /// The offending key (dotted path for nested params).
        key: String,
        /// Which layer it came from (e.g. `suite file suites/a.toml`, `--param`).
        layer: String,
        /// The closest valid key, when one is close enough.
        suggestion: Option<String>,
        /// All valid keys at that level, sorted.
        valid: Vec<String>,
    },
    /// A layer that is not a key-value table.
    #[error("method `{method}`: params in {layer} must be a table of key = value, got {got}")]
    NotATable {
        /// Registry id of the method.
        method: String,
        /// Which layer.
        layer: String,
        /// What was found instead.
        got: String,
    },
    /// A command-line override without `=`.
    #[error("param override `{text}` is not of the form key=value")]
    BadOverride {
        /// The text as given.
        text: String,
    },
    /// The merged params do not deserialise (wrong type, invalid enum value, out of range).
    #[error("method `{method}`: invalid params: {message}")]
    Invalid {
        /// Registry id of the method.
        method: String,
        /// The serde (or validation) message, naming the field.
        message: String,
    },
}

/// Edit distance between two short strings (for suggestions).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest of `valid` to `key`, if it is within a third of the key's length (at least 2
/// edits allowed), or if one contains the other (parts of 3+ characters). Ties go to the first in sorted order.
pub fn suggest<'a>(key: &str, valid: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let key_l = key.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    let mut sorted: Vec<&str> = valid.into_iter().collect();
    sorted.sort_unstable();
    for v in sorted {
        let vl = v.to_lowercase();
        // A key that is a (>= 3 character) part of a valid key, or the reverse, counts as close.
        let part_of =
            (key_l.len() >= 3 && vl.contains(&key_l)) || (vl.len() >= 3 && key_l.contains(&vl));
        let d = if part_of { 1 } else { levenshtein(&key_l, &vl) };
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, v));
        }
    }
    let limit = (key.chars().count() / 3).max(2);
    best.filter(|(d, _)| *d <= limit).map(|(_, v)| v.to_string())
}

fn merge_into(
    method: &str,
    layer: &str,
    prefix: &str,
    base: &mut Map<String, Value>,
    over: &Map<String, Value>,
) -> Result<(), ParamsError> {
    for (k, v) in over {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match base.get_mut(k) {
            None => {
                let mut valid: Vec<String> = base.keys().cloned().collect();
                valid.sort();
                return Err(ParamsError::UnknownKey {
                    method: method.to_string(),
                    suggestion: suggest(k, valid.iter().map(String::as_str))
                        .map(|s| if prefix.is_empty() { s } else { format!("{prefix}.{s}") }),
                    key: path,
                    layer: layer.to_string(),
                    valid,
                });
            }
            Some(Value::Object(inner)) if v.is_object() => {
                merge_into(method, layer, &path, inner, v.as_object().expect("checked"))?;
            }
            Some(slot) => *slot = v.clone(),
        }
    }
    Ok(())
}

/// Merge `layers` (lowest priority first, each `(layer name, JSON object)`) over `defaults`.
///
/// Every key must exist in `defaults` (recursively for nested tables), otherwise
/// [`ParamsError::UnknownKey`] with a suggestion. Values replace defaults as given; their types
/// are checked when the result is deserialised with [`parse_params`].
pub fn merge_params(
    method: &str,
    defaults: &Value,
    layers: &[(&str, &Value)],
) -> Result<Value, ParamsError> {
    let mut base = match defaults {
        Value::Object(m) => m.clone(),
        other => {
            return Err(ParamsError::NotATable {
                method: method.to_string(),
                layer: "defaults".to_string(),
                got: other.to_string(),
            });
        }
    };
    for (layer, v) in layers {
        match v {
            Value::Object(over) => merge_into(method, layer, "", &mut base, over)?,
            Value::Null => {}
            other => {
                return Err(ParamsError::NotATable {
                    method: method.to_string(),
                    layer: layer.to_string(),
                    got: other.to_string(),
                });
            }
        }
    }
    Ok(Value::Object(base))
}

/// Parse one command-line override `key=value` (dotted keys for nested tables) into a JSON
/// object layer. The value is read as JSON when it parses (`64`, `0.5`, `true`, `[1,2]`), and
/// as a plain string otherwise (`recipe=ce`).
pub fn parse_override(text: &str) -> Result<Value, ParamsError> {
    let (k, v) =
        text.split_once('=').ok_or_else(|| ParamsError::BadOverride { text: text.to_string() })?;
    let k = k.trim();
    if k.is_empty() {
        return Err(ParamsError::BadOverride { text: text.to_string() });
    }
    let v = v.trim();
    let mut value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.into()));
    for part in k.rsplit('.') {
        let mut m = Map::new();
        m.insert(part.to_string(), value);
        value = Value::Object(m);
    }
    Ok(value)
}

/// Deserialise merged params into the method's typed struct. The struct must use
/// `#[serde(deny_unknown_fields, default)]`; an unknown key that slipped past [`merge_params`]
/// is reported with a suggestion too.
pub fn parse_params<P>(method: &str, value: &Value) -> Result<P, ParamsError>
where
    P: DeserializeOwned + Serialize + Default,
{
    // Check keys first so that the error carries a suggestion rather than serde's list.
    let defaults = serde_json::to_value(P::default())
        .map_err(|e| ParamsError::Invalid { method: method.to_string(), message: e.to_string() })?;
    merge_params(method, &defaults, &[("params", value)])?;
    serde_json::from_value(value.clone())
        .map_err(|e| ParamsError::Invalid { method: method.to_string(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct P {
        /// Embedding size.
        embedding_dim: usize,
        /// Learning rate.
        learning_rate: f64,
        /// Recipe.
        recipe: String,
    }
    impl Default for P {
        fn default() -> Self {
            P { embedding_dim: 64, learning_rate: 1e-3, recipe: "ce".into() }
        }
    }

    #[test]
    fn suggestion_finds_the_misspelt_key() {
        let keys = ["embedding_dim", "learning_rate", "recipe"];
        assert_eq!(suggest("learnig_rate", keys).as_deref(), Some("learning_rate"));
        assert_eq!(suggest("dim", keys).as_deref(), Some("embedding_dim"));
        assert_eq!(suggest("zzzzzzzz", keys), None);
        assert_eq!(suggest("srink", ["k", "shrink"]).as_deref(), Some("shrink"));
        assert_eq!(suggest("srink", ["k", "shrink"]).as_deref(), Some("shrink"));
    }

    #[test]
    fn layers_override_in_order_and_unknown_keys_fail_with_suggestion() {
        let d = serde_json::to_value(P::default()).unwrap();
        let suite = serde_json::json!({"embedding_dim": 32, "recipe": "bce"});
        let cli = parse_override("embedding_dim=128").unwrap();
        let m = merge_params("x", &d, &[("suite", &suite), ("--param", &cli)]).unwrap();
        let p: P = parse_params("x", &m).unwrap();
        assert_eq!(p.embedding_dim, 128);
        assert_eq!(p.recipe, "bce");
        assert_eq!(p.learning_rate, 1e-3);

        let bad = parse_override("learnig_rate=0.1").unwrap();
        let err = merge_params("x", &d, &[("--param", &bad)]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("did you mean `learning_rate`"), "{msg}");
        assert!(msg.contains("--param"), "{msg}");
    }

    #[test]
    fn wrong_types_are_rejected_naming_the_field() {
        let v = serde_json::json!({"embedding_dim": "big"});
        let err = parse_params::<P>("x", &v).unwrap_err().to_string();
        assert!(err.contains("invalid"), "{err}");
        assert!(parse_override("novalue").is_err());
        let nested = parse_override("a.b=1").unwrap();
        assert_eq!(nested, serde_json::json!({"a": {"b": 1}}));
    }
}
