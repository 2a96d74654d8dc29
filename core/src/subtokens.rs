//! Splitting names, literals and prose into lower-case subtokens
//! (`read_csv` → `read`, `csv`; `XGBClassifier` → `xgb`, `classifier`).

/// Token that stands for a number of three or more digits.
pub const NUMBER_TOKEN: &str = "<num>";

/// Appends the subtokens of `text` to `out`, at most `cap` of them; returns how many it added.
pub fn split_into(text: &str, cap: usize, out: &mut Vec<String>) -> usize {
    let mut added = 0;
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        for piece in CaseSplit::new(word) {
            if added >= cap {
                return added;
            }
            out.push(normalise(piece));
            added += 1;
        }
    }
    added
}

/// Convenience for tests and callers that want a fresh vector.
pub fn split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    split_into(text, usize::MAX, &mut out);
    out
}

fn normalise(piece: &str) -> String {
    if piece.bytes().all(|b| b.is_ascii_digit()) {
        if piece.len() <= 2 {
            piece.to_owned()
        } else {
            NUMBER_TOKEN.to_owned()
        }
    } else {
        piece.to_lowercase()
    }
}

/// Iterates over the camelCase / letter–digit pieces of one alphanumeric word.
struct CaseSplit<'a> {
    word: &'a str,
    start: usize,
}

impl<'a> CaseSplit<'a> {
    fn new(word: &'a str) -> Self {
        CaseSplit { word, start: 0 }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
}

fn class(c: char) -> Class {
    if c.is_numeric() {
        Class::Digit
    } else if c.is_uppercase() {
        Class::Upper
    } else {
        Class::Lower
    }
}

impl<'a> Iterator for CaseSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.word[self.start..];
        let mut chars = rest.char_indices().peekable();
        let (_, first) = chars.next()?;
        let mut prev = class(first);
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            let current = class(c);
            let boundary = match (prev, current) {
                (Class::Digit, Class::Digit) | (Class::Lower | Class::Upper, Class::Lower) => false,
                (Class::Upper, Class::Upper) => {
                    // "XGBClassifier": the last capital of a run starts the next word
                    matches!(chars.peek(), Some(&(_, next)) if class(next) == Class::Lower)
                }
                _ => true,
            };
            if boundary {
                end = i;
                break;
            }
            prev = current;
        }
        let piece = &rest[..end];
        self.start += end;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_snake_camel_acronyms_and_digits() {
        assert_eq!(split("read_csv"), ["read", "csv"]);
        assert_eq!(
            split("RandomForestClassifier"),
            ["random", "forest", "classifier"]
        );
        assert_eq!(split("XGBClassifier"), ["xgb", "classifier"]);
        assert_eq!(split("pd.read_csv"), ["pd", "read", "csv"]);
        assert_eq!(split("layer2dense"), ["layer", "2", "dense"]);
        assert_eq!(split("n_estimators=1000"), ["n", "estimators", "<num>"]);
        assert_eq!(split("Größe_ÄNDERN"), ["größe", "ändern"]);
        assert!(split("  ...  ").is_empty());
    }

    #[test]
    fn cap_limits_output() {
        let mut out = Vec::new();
        assert_eq!(split_into("a_b_c_d", 2, &mut out), 2);
        assert_eq!(out, ["a", "b"]);
    }
}
