//! From cells to tensors: validation, truncation, padding, the dense attention mask, length
//! bucketing and negative sampling.
//!
//! A batch is padded to `L` = the longest (truncated) input in it, never to `max_len`, and
//! batches are cut from length-sorted chunks ([`bucketed_batches`]) so that padding stays small.

use std::borrow::Cow;

use burn::prelude::*;
use coral_core::input::{NO_NODE, SEGMENT_COUNT, SEGMENT_MARKDOWN};
use coral_core::{ModelInput, Stage};

use crate::rng::SplitMix64;

/// Why an input cannot go into a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("empty input (position 0 must be [CLS])")]
    Empty,
    #[error("{field} has {got} entries for {len} tokens")]
    Ragged {
        field: &'static str,
        got: usize,
        len: usize,
    },
    #[error("token id {id} at position {position} is outside the vocabulary of {vocab}")]
    TokenOutOfVocab {
        id: u32,
        position: usize,
        vocab: usize,
    },
    #[error("segment id {segment} at position {position} is not below {SEGMENT_COUNT}")]
    BadSegment { segment: u8, position: usize },
    #[error("node {node} at position {position} has no parent entry ({nodes} nodes)")]
    BadNode {
        node: u32,
        position: usize,
        nodes: usize,
    },
}

/// Checks what the batcher and the model rely on: equal lengths, ids inside the vocabulary,
/// valid segments and node references.
pub fn validate_input(input: &ModelInput, vocab_size: usize) -> Result<(), InputError> {
    let len = input.len();
    if len == 0 {
        return Err(InputError::Empty);
    }
    for (field, got) in [
        ("segments", input.segments.len()),
        ("node_of", input.node_of.len()),
    ] {
        if got != len {
            return Err(InputError::Ragged { field, got, len });
        }
    }
    for (position, &id) in input.token_ids.iter().enumerate() {
        if id as usize >= vocab_size {
            return Err(InputError::TokenOutOfVocab {
                id,
                position,
                vocab: vocab_size,
            });
        }
    }
    for (position, &segment) in input.segments.iter().enumerate() {
        if usize::from(segment) >= SEGMENT_COUNT {
            return Err(InputError::BadSegment { segment, position });
        }
    }
    let nodes = input.node_parent.len();
    for (position, &node) in input.node_of.iter().enumerate() {
        if node != NO_NODE && node as usize >= nodes {
            return Err(InputError::BadNode {
                node,
                position,
                nodes,
            });
        }
    }
    Ok(())
}

/// The first `max_len` positions of `input` (borrowed when it already fits).
pub fn truncate(input: &ModelInput, max_len: usize) -> Cow<'_, ModelInput> {
    if input.len() <= max_len {
        return Cow::Borrowed(input);
    }
    Cow::Owned(ModelInput {
        token_ids: input.token_ids[..max_len].to_vec(),
        segments: input.segments[..max_len].to_vec(),
        node_of: input.node_of[..max_len].to_vec(),
        node_parent: input.node_parent.clone(),
    })
}

/// The input without its markdown positions (the `no_markdown` ablation). Code positions keep
/// their nodes, so the graph among them is unchanged.
pub fn without_markdown(input: &ModelInput) -> ModelInput {
    let keep: Vec<usize> = (0..input.len())
        .filter(|&i| input.segments.get(i) != Some(&SEGMENT_MARKDOWN))
        .collect();
    let pick =
        |v: &Vec<u32>| -> Vec<u32> { keep.iter().filter_map(|&i| v.get(i).copied()).collect() };
    ModelInput {
        token_ids: pick(&input.token_ids),
        segments: keep
            .iter()
            .filter_map(|&i| input.segments.get(i).copied())
            .collect(),
        node_of: pick(&input.node_of),
        node_parent: input.node_parent.clone(),
    }
}

/// A batch on the host: flat row-major buffers ready to become tensors (or ONNX inputs).
#[derive(Debug, Clone, PartialEq)]
pub struct HostBatch {
    /// Cells in the batch.
    pub size: usize,
    /// Padded length `L`.
    pub len: usize,
    /// `[size, len]` token ids, 0 ([PAD]) in padding.
    pub tokens: Vec<i64>,
    /// `[size, len]` segment ids, 0 in padding.
    pub segments: Vec<i64>,
    /// `[size, len, len]`, true = may attend ([`ModelInput::fill_mask`]).
    pub mask: Vec<bool>,
    /// Weak label per cell.
    pub labels: Vec<Option<Stage>>,
}

/// Pads the inputs (truncated to `max_len`) into one batch. Inputs must have passed
/// [`validate_input`]; an empty slice gives an empty batch.
pub fn collate<'a, I>(items: I, max_len: usize) -> HostBatch
where
    I: IntoIterator<Item = (&'a ModelInput, Option<Stage>)>,
{
    collate_padded(items, max_len, 1)
}

/// [`collate`], padding the length up to a multiple of `multiple` (at most to `max_len`): on
/// a GPU each distinct shape costs a kernel compilation and autotuning, so fewer shapes pay.
pub fn collate_padded<'a, I>(items: I, max_len: usize, multiple: usize) -> HostBatch
where
    I: IntoIterator<Item = (&'a ModelInput, Option<Stage>)>,
{
    let items: Vec<(Cow<'a, ModelInput>, Option<Stage>)> = items
        .into_iter()
        .map(|(input, label)| (truncate(input, max_len), label))
        .collect();
    let size = items.len();
    let longest = items.iter().map(|(i, _)| i.len()).max().unwrap_or(0);
    let len = longest
        .next_multiple_of(multiple.max(1))
        .min(max_len)
        .max(longest);
    let mut tokens = vec![0i64; size * len];
    let mut segments = vec![0i64; size * len];
    let mut mask = vec![false; size * len * len];
    let mut labels = Vec::with_capacity(size);
    for (row, (input, label)) in items.iter().enumerate() {
        let n = input.len();
        for (dst, &src) in tokens[row * len..row * len + n]
            .iter_mut()
            .zip(&input.token_ids)
        {
            *dst = i64::from(src);
        }
        for (dst, &src) in segments[row * len..row * len + n]
            .iter_mut()
            .zip(&input.segments)
        {
            *dst = i64::from(src);
        }
        input.fill_mask(len, &mut mask[row * len * len..(row + 1) * len * len]);
        labels.push(*label);
    }
    HostBatch {
        size,
        len,
        tokens,
        segments,
        mask,
        labels,
    }
}

/// A batch on a device.
#[derive(Debug, Clone)]
pub struct Batch {
    pub tokens: Tensor<2, Int>,
    pub segments: Tensor<2, Int>,
    pub mask: Tensor<3, Bool>,
    pub labels: Vec<Option<Stage>>,
}

impl HostBatch {
    /// Uploads the buffers to `device`.
    pub fn to_device(&self, device: &Device) -> Batch {
        let (b, l) = (self.size, self.len);
        Batch {
            tokens: Tensor::from_data(TensorData::new(self.tokens.clone(), [b, l]), device),
            segments: Tensor::from_data(TensorData::new(self.segments.clone(), [b, l]), device),
            mask: Tensor::from_data(TensorData::new(self.mask.clone(), [b, l, l]), device),
            labels: self.labels.clone(),
        }
    }
}

/// Splits `0..lengths.len()` into batches of at most `batch_size`, with little padding: the
/// indices are shuffled, cut into chunks of `batch_size · chunk_batches`, each chunk is sorted
/// by length and cut into batches, and the batch order is shuffled again.
pub fn bucketed_batches(
    lengths: &[usize],
    batch_size: usize,
    chunk_batches: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    let batch_size = batch_size.max(1);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut order);
    let chunk = batch_size * chunk_batches.max(1);
    let mut batches = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for piece in order.chunks_mut(chunk) {
        piece.sort_by_key(|&i| lengths[i]);
        batches.extend(piece.chunks(batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// Batches in input order (for evaluation and export checks): sorted by length, then cut.
pub fn sorted_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| lengths[i]);
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// `m` negatives for each of `b` cells: indices of *other* cells of the batch, row-major
/// (`b · m` entries). Without replacement when the batch has at least `m` other cells; with
/// replacement otherwise; empty when `b < 2` or `m == 0`.
pub fn sample_negatives(b: usize, m: usize, rng: &mut SplitMix64) -> Vec<u32> {
    if b < 2 || m == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(b * m);
    let mut others: Vec<u32> = Vec::with_capacity(b - 1);
    for c in 0..b {
        if b > m {
            others.clear();
            others.extend((0..b as u32).filter(|&i| i as usize != c));
            // Partial Fisher–Yates: the first m entries become a uniform sample.
            for i in 0..m {
                let j = i + rng.below(others.len() - i);
                others.swap(i, j);
            }
            out.extend_from_slice(&others[..m]);
        } else {
            for _ in 0..m {
                let pick = rng.below(b - 1);
                let pick = if pick >= c { pick + 1 } else { pick };
                out.push(pick as u32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(len: usize) -> ModelInput {
        // [CLS], then a chain of code nodes, each the child of the previous.
        let mut node_of = vec![NO_NODE];
        node_of.extend(0..len as u32 - 1);
        let mut node_parent = vec![NO_NODE];
        node_parent.extend(0..len as u32 - 2);
        ModelInput {
            token_ids: (0..len as u32)
                .map(|i| if i == 0 { 2 } else { 3 + i })
                .collect(),
            segments: vec![0; len],
            node_of,
            node_parent,
        }
    }

    #[test]
    fn collate_pads_truncates_and_masks() {
        let short = input(3);
        let long = input(8);
        let batch = collate([(&short, Some(Stage::Model)), (&long, None)], 5);
        assert_eq!((batch.size, batch.len), (2, 5));
        assert_eq!(&batch.tokens[..5], &[2, 4, 5, 0, 0]);
        assert_eq!(&batch.tokens[5..], &[2, 4, 5, 6, 7]);
        // Row 0 position 3 is padding: attends only to itself; nobody attends to it.
        let m0 = &batch.mask[..25];
        assert_eq!(&m0[15..20], &[false, false, false, true, false]);
        assert!((0..3).all(|i| !m0[i * 5 + 3]));
        // Row 1 is the truncated copy's own mask.
        let mut expected = vec![false; 25];
        truncate(&long, 5).fill_mask(5, &mut expected);
        assert_eq!(&batch.mask[25..], &expected[..]);
        assert_eq!(batch.labels, vec![Some(Stage::Model), None]);
    }

    #[test]
    fn validation_rejects_bad_inputs() {
        let good = input(4);
        assert_eq!(validate_input(&good, 10), Ok(()));
        assert!(matches!(
            validate_input(&good, 5),
            Err(InputError::TokenOutOfVocab { id: 5, .. })
        ));
        let mut ragged = good.clone();
        ragged.node_of.pop();
        assert!(matches!(
            validate_input(&ragged, 10),
            Err(InputError::Ragged {
                field: "node_of",
                ..
            })
        ));
        let mut seg = good.clone();
        seg.segments[1] = 2;
        assert!(matches!(
            validate_input(&seg, 10),
            Err(InputError::BadSegment { .. })
        ));
        let mut node = good;
        node.node_of[1] = 99;
        assert!(matches!(
            validate_input(&node, 10),
            Err(InputError::BadNode { .. })
        ));
        let empty = ModelInput {
            token_ids: vec![],
            segments: vec![],
            node_of: vec![],
            node_parent: vec![],
        };
        assert_eq!(validate_input(&empty, 10), Err(InputError::Empty));
    }

    #[test]
    fn bucketing_covers_everything_once_with_little_padding() {
        let mut rng = SplitMix64::new(3);
        let lengths: Vec<usize> = (0..1000).map(|_| 1 + rng.below(160)).collect();
        let batches = bucketed_batches(&lengths, 16, 50, &mut rng);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        let padded: usize = batches
            .iter()
            .map(|b| b.len() * b.iter().map(|&i| lengths[i]).max().unwrap_or(0))
            .sum();
        let real: usize = lengths.iter().sum();
        assert!(
            (padded as f64) < 1.1 * real as f64,
            "padding {padded} vs {real}"
        );
    }

    #[test]
    fn negatives_are_other_cells() {
        let mut rng = SplitMix64::new(9);
        let n = sample_negatives(16, 5, &mut rng);
        assert_eq!(n.len(), 80);
        for (c, row) in n.chunks(5).enumerate() {
            assert!(row.iter().all(|&i| i as usize != c && i < 16));
            let mut unique = row.to_vec();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 5, "without replacement");
        }
        let small = sample_negatives(3, 5, &mut rng);
        assert_eq!(small.len(), 15);
        assert!(small
            .chunks(5)
            .enumerate()
            .all(|(c, row)| row.iter().all(|&i| i as usize != c && i < 3)));
        assert!(sample_negatives(1, 5, &mut rng).is_empty());
    }
}
