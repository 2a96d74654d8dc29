//! Synthetic cells for tests and benchmarks: random syntax trees with markdown tails, and a
//! small structured task whose stage is readable from the tokens (a learning smoke test until
//! the real corpus is wired in).

use coral_core::input::{NO_NODE, SEGMENT_CODE, SEGMENT_MARKDOWN};
use coral_core::{ModelInput, Stage};

use crate::rng::SplitMix64;
use crate::train::TrainSample;

/// First token id of the stage signatures in [`structured_task`]; each stage owns
/// [`SIGNATURE_TOKENS`] ids from here on.
pub const SIGNATURE_BASE: u32 = 16;
pub const SIGNATURE_TOKENS: u32 = 8;
/// Vocabulary size of [`structured_task`].
pub const TASK_VOCAB: usize = (SIGNATURE_BASE + 5 * SIGNATURE_TOKENS) as usize + 8;

/// A random cell of `len` positions (≥ 1): [CLS], a random tree of code nodes (each with a kind
/// token and sometimes a value subtoken), then `markdown` markdown positions (fewer when `len`
/// is short). Token ids are drawn by `token` (called with `true` for markdown positions).
pub fn random_input(
    rng: &mut SplitMix64,
    len: usize,
    markdown: usize,
    mut token: impl FnMut(&mut SplitMix64, bool) -> u32,
) -> ModelInput {
    let len = len.max(1);
    let markdown = markdown.min(len - 1);
    let code = len - 1 - markdown;
    let mut input = ModelInput {
        token_ids: vec![2],
        segments: vec![SEGMENT_CODE],
        node_of: vec![NO_NODE],
        node_parent: Vec::new(),
    };
    let mut placed = 0;
    while placed < code {
        let node = input.node_parent.len() as u32;
        let parent = if node == 0 || rng.below(5) == 0 {
            NO_NODE
        } else {
            rng.below(node as usize) as u32
        };
        input.node_parent.push(parent);
        // Kind token, then maybe a value subtoken of the same node.
        let positions = if placed + 1 < code && rng.below(3) == 0 {
            2
        } else {
            1
        };
        for _ in 0..positions {
            input.token_ids.push(token(rng, false));
            input.segments.push(SEGMENT_CODE);
            input.node_of.push(node);
        }
        placed += positions;
    }
    for _ in 0..markdown {
        input.token_ids.push(token(rng, true));
        input.segments.push(SEGMENT_MARKDOWN);
        input.node_of.push(NO_NODE);
    }
    input
}

/// Random cells with lengths uniform in `min_len..=max_len` over a vocabulary of `vocab` ids.
pub fn random_inputs(
    seed: u64,
    count: usize,
    min_len: usize,
    max_len: usize,
    vocab: usize,
) -> Vec<ModelInput> {
    let mut rng = SplitMix64::new(seed);
    let vocab = vocab.max(4);
    (0..count)
        .map(|_| {
            let len = min_len + rng.below(max_len.saturating_sub(min_len) + 1);
            let markdown = if rng.below(2) == 0 {
                rng.below(len / 3 + 1)
            } else {
                0
            };
            random_input(&mut rng, len, markdown, |r, _| {
                3 + r.below(vocab - 3) as u32
            })
        })
        .collect()
}

/// A structured task: each cell has a hidden stage (IMPORT 30 %, WRANGLE 25 %, EXPLORE 20 %,
/// MODEL 15 %, EVALUATE 10 %, so always guessing IMPORT scores 30 %); about a quarter of its code
/// tokens are signature tokens of that stage, a tenth are signatures of other stages, the rest
/// noise. Half of the cells carry their stage as a weak label. Ten cells per notebook.
pub fn structured_task(count: usize, seed: u64) -> Vec<TrainSample> {
    let mut rng = SplitMix64::new(seed);
    let cumulative = [30, 55, 75, 90, 100];
    (0..count)
        .map(|i| {
            let draw = rng.below(100);
            let stage_index = cumulative.iter().position(|&c| draw < c).unwrap_or(4);
            let stage = Stage::ALL[stage_index];
            let len = 8 + rng.below(33);
            let markdown = if rng.below(2) == 0 {
                1 + rng.below(4)
            } else {
                0
            };
            let signature = |r: &mut SplitMix64, s: usize| {
                SIGNATURE_BASE
                    + s as u32 * SIGNATURE_TOKENS
                    + r.below(SIGNATURE_TOKENS as usize) as u32
            };
            let input = random_input(&mut rng, len, markdown, |r, _md| match r.below(20) {
                0..=4 => signature(r, stage_index),
                5 | 6 => {
                    let other = r.below(5);
                    signature(r, other)
                }
                _ => 3 + r.below((SIGNATURE_BASE - 3) as usize) as u32,
            });
            TrainSample {
                input,
                label: (rng.below(2) == 0).then_some(stage),
                notebook: (i / 10) as u64,
            }
        })
        .collect()
}

/// The hidden stage of a [`structured_task`] cell, recovered by counting signature tokens
/// (for checking the task itself).
pub fn majority_signature(input: &ModelInput) -> Option<Stage> {
    let mut counts = [0usize; 5];
    for &t in &input.token_ids {
        if (SIGNATURE_BASE..SIGNATURE_BASE + 5 * SIGNATURE_TOKENS).contains(&t) {
            counts[((t - SIGNATURE_BASE) / SIGNATURE_TOKENS) as usize] += 1;
        }
    }
    let best = (0..5).max_by_key(|&i| counts[i])?;
    (counts[best] > 0).then(|| Stage::ALL[best])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::validate_input;

    #[test]
    fn random_inputs_are_valid_and_sized() {
        for (i, input) in random_inputs(1, 200, 1, 60, 50).iter().enumerate() {
            assert_eq!(validate_input(input, 50), Ok(()), "input {i}");
            assert!((1..=60).contains(&input.len()));
            assert_eq!(input.token_ids[0], 2);
        }
    }

    #[test]
    fn structured_task_is_valid_and_mostly_readable() {
        let task = structured_task(500, 3);
        assert!(task
            .iter()
            .all(|s| validate_input(&s.input, TASK_VOCAB).is_ok()));
        let labelled: Vec<_> = task.iter().filter(|s| s.label.is_some()).collect();
        assert!(labelled.len() > 200);
        let readable = labelled
            .iter()
            .filter(|s| majority_signature(&s.input) == s.label)
            .count();
        assert!(
            readable * 10 > labelled.len() * 8,
            "{readable}/{}",
            labelled.len()
        );
    }
}
