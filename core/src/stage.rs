//! The five stages of data analysis, plus the model's sixth "none" output.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A stage of data analysis (paper §III-A, rubric in Appendix D).
///
/// The declaration order is the model's output order (`stage_probs[0..5]`);
/// the model's sixth output, index [`Stage::NONE_INDEX`], is the dummy "none" stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Stage {
    Import,
    Wrangle,
    Explore,
    Model,
    Evaluate,
}

impl Stage {
    /// All five stages in model output order.
    pub const ALL: [Stage; 5] = [
        Stage::Import,
        Stage::Wrangle,
        Stage::Explore,
        Stage::Model,
        Stage::Evaluate,
    ];
    /// Number of model outputs: the five stages and the dummy "none" stage.
    pub const OUTPUTS: usize = 6;
    /// Index of the dummy "none" stage in the model's `stage_probs`.
    pub const NONE_INDEX: usize = 5;

    /// Position of this stage in the model's output vector.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The stage at a model output index, `None` for the dummy stage or out of range.
    pub fn from_index(index: usize) -> Option<Stage> {
        Stage::ALL.get(index).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Import => "IMPORT",
            Stage::Wrangle => "WRANGLE",
            Stage::Explore => "EXPLORE",
            Stage::Model => "MODEL",
            Stage::Evaluate => "EVALUATE",
        }
    }

    /// One-letter code in a notebook's stage strip (`IWEMV`; EVALUATE is `V`, as `E` is
    /// taken).
    pub fn letter(self) -> char {
        match self {
            Stage::Import => 'I',
            Stage::Wrangle => 'W',
            Stage::Explore => 'E',
            Stage::Model => 'M',
            Stage::Evaluate => 'V',
        }
    }

    /// The strip letter of an unlabelled cell.
    pub const NO_LETTER: char = '·';

    /// Weak-label priority (paper §IV-C): lower wins when several rules fire.
    pub fn priority(self) -> u8 {
        match self {
            Stage::Import => 0,
            Stage::Model => 1,
            Stage::Evaluate => 2,
            Stage::Explore => 3,
            Stage::Wrangle => 4,
        }
    }
}

/// A set of stages (a bit per stage), cheap to copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StageSet(u8);

impl StageSet {
    pub const EMPTY: StageSet = StageSet(0);

    pub fn insert(&mut self, stage: Stage) {
        self.0 |= 1 << stage.index();
    }

    pub fn contains(self, stage: Stage) -> bool {
        self.0 & (1 << stage.index()) != 0
    }
}

/// Serialised as the list of its stages, in model output order.
impl Serialize for StageSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(Stage::ALL.into_iter().filter(|&s| self.contains(s)))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that names no stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage `{0}` (expected IMPORT, WRANGLE, EXPLORE, MODEL or EVALUATE)")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "IMPORT" => Ok(Stage::Import),
            "WRANGLE" => Ok(Stage::Wrangle),
            "EXPLORE" => Ok(Stage::Explore),
            "MODEL" => Ok(Stage::Model),
            "EVALUATE" => Ok(Stage::Evaluate),
            _ => Err(UnknownStage(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_round_trips_and_none_is_out_of_range() {
        for stage in Stage::ALL {
            assert_eq!(Stage::from_index(stage.index()), Some(stage));
            assert_eq!(stage.as_str().parse::<Stage>(), Ok(stage));
        }
        assert_eq!(Stage::from_index(Stage::NONE_INDEX), None);
        assert!("clean".parse::<Stage>().is_err());
    }
}
