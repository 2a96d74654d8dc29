//! The token table: token text → id, built from corpus counts, saved as JSON, identified by
//! the sha256 of its tokens.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// Padding id.
pub const PAD_ID: u32 = 0;
/// Unknown-token id.
pub const UNK_ID: u32 = 1;
/// [CLS] id.
pub const CLS_ID: u32 = 2;
const SPECIALS: [&str; 3] = ["[PAD]", "[UNK]", crate::graph::CLS_TOKEN];
const FORMAT: &str = "coral-vocab";

/// Why a vocabulary file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabError {
    #[error("invalid vocabulary JSON: {0}")]
    Json(String),
    #[error("not a coral vocabulary (format `{0}`)")]
    Format(String),
    #[error("vocabulary must start with [PAD], [UNK], [CLS]")]
    Specials,
    #[error("token `{0}` appears twice in the vocabulary")]
    Duplicate(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    tokens: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, u32>,
    sha256: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct VocabFile {
    format: String,
    featurizer_version: String,
    sha256: String,
    tokens: Vec<String>,
    #[serde(default)]
    counts: Vec<u64>,
}

impl Vocab {
    /// Keeps tokens seen at least `min_count` times, the most frequent first (ties by text),
    /// at most `max_size` ids in all (specials included).
    pub fn build(
        counts: impl IntoIterator<Item = (String, u64)>,
        min_count: u64,
        max_size: usize,
    ) -> Vocab {
        let mut ranked: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|(token, count)| *count >= min_count && !SPECIALS.contains(&token.as_str()))
            .collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(max_size.saturating_sub(SPECIALS.len()));
        let mut tokens: Vec<String> = SPECIALS.iter().map(|s| (*s).to_owned()).collect();
        let mut token_counts = vec![0; SPECIALS.len()];
        for (token, count) in ranked {
            tokens.push(token);
            token_counts.push(count);
        }
        Vocab::from_parts(tokens, token_counts)
    }

    fn from_parts(tokens: Vec<String>, counts: Vec<u64>) -> Vocab {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let sha256 = hash_tokens(&tokens);
        Vocab {
            tokens,
            counts,
            index,
            sha256,
        }
    }

    pub fn from_json(text: &str) -> Result<Vocab, VocabError> {
        let file: VocabFile =
            serde_json::from_str(text).map_err(|e| VocabError::Json(e.to_string()))?;
        if file.format != FORMAT {
            return Err(VocabError::Format(file.format));
        }
        if file.tokens.len() < SPECIALS.len() || file.tokens[..SPECIALS.len()] != SPECIALS {
            return Err(VocabError::Specials);
        }
        let mut seen = std::collections::HashSet::with_capacity(file.tokens.len());
        if let Some(dup) = file.tokens.iter().find(|t| !seen.insert(t.as_str())) {
            return Err(VocabError::Duplicate(dup.clone()));
        }
        let counts = if file.counts.len() == file.tokens.len() {
            file.counts
        } else {
            vec![0; file.tokens.len()]
        };
        Ok(Vocab::from_parts(file.tokens, counts))
    }

    pub fn to_json(&self) -> String {
        let file = VocabFile {
            format: FORMAT.to_owned(),
            featurizer_version: crate::FEATURIZER_VERSION.to_owned(),
            sha256: self.sha256.clone(),
            tokens: self.tokens.clone(),
            counts: self.counts.clone(),
        };
        serde_json::to_string(&file).unwrap_or_default()
    }

    /// The id of a token, [`UNK_ID`] when unknown.
    pub fn id(&self, token: &str) -> u32 {
        self.index.get(token).copied().unwrap_or(UNK_ID)
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Hex sha256 of the token list (counts excluded): what a model's metadata must match.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

fn hash_tokens(tokens: &[String]) -> String {
    let mut hasher = Sha256::new();
    for token in tokens {
        hasher.update(token.as_bytes());
        hasher.update([b'\n']);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_orders_by_count_caps_and_round_trips() {
        let counts = [("b", 5), ("a", 5), ("c", 9), ("rare", 1), ("[CLS]", 100)]
            .map(|(t, c)| (t.to_owned(), c));
        let vocab = Vocab::build(counts, 2, 5);
        assert_eq!(vocab.len(), 5);
        assert_eq!(vocab.token(3), Some("c"));
        assert_eq!(vocab.token(4), Some("a"));
        assert_eq!(vocab.id("b"), UNK_ID);
        assert_eq!(vocab.id("[CLS]"), CLS_ID);
        let again = Vocab::from_json(&vocab.to_json()).expect("round trip");
        assert_eq!(again, vocab);
        assert_eq!(again.sha256().len(), 64);
    }

    #[test]
    fn bad_files_are_typed_errors() {
        assert!(matches!(Vocab::from_json("{"), Err(VocabError::Json(_))));
        let wrong = r#"{"format":"x","featurizer_version":"1","sha256":"","tokens":[]}"#;
        assert!(matches!(
            Vocab::from_json(wrong),
            Err(VocabError::Format(_))
        ));
        let no_specials =
            r#"{"format":"coral-vocab","featurizer_version":"1","sha256":"","tokens":["a"]}"#;
        assert_eq!(Vocab::from_json(no_specials), Err(VocabError::Specials));
        let dup = r#"{"format":"coral-vocab","featurizer_version":"1","sha256":"","tokens":["[PAD]","[UNK]","[CLS]","a","a"]}"#;
        assert_eq!(
            Vocab::from_json(dup),
            Err(VocabError::Duplicate("a".into()))
        );
    }
}
