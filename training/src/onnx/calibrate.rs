//! Activation ranges for int8 export: the smallest and largest value that reaches each encoder
//! linear layer over sample cells. Fixed ranges keep a cell's output independent of the cells
//! batched with it, which per-batch (dynamic) quantization would not.

use std::collections::BTreeMap;

use burn::prelude::*;
use coral_core::ModelInput;
use serde::{Deserialize, Serialize};

use crate::batch::{collate, sorted_batches};
use crate::model::{CoralModel, LinearSite};

/// `layers.{i}.{site}` → (min, max) of the layer's input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivationRanges {
    /// Cells the ranges were measured on.
    pub cells: usize,
    pub ranges: BTreeMap<String, (f32, f32)>,
}

/// The parameter-name key of a linear layer.
pub fn site_key(layer: usize, site: LinearSite) -> String {
    format!("layers.{layer}.{}", site.name())
}

impl ActivationRanges {
    /// Runs `model` (without dropout) over `inputs` in length-sorted batches of `batch_size`,
    /// truncated to `max_len`, and keeps each linear input's extremes.
    pub fn measure(
        model: &CoralModel,
        inputs: &[ModelInput],
        max_len: usize,
        batch_size: usize,
        device: &Device,
    ) -> ActivationRanges {
        let mut ranges: BTreeMap<String, (f32, f32)> = BTreeMap::new();
        let lengths: Vec<usize> = inputs.iter().map(|i| i.len().min(max_len)).collect();
        for batch in sorted_batches(&lengths, batch_size) {
            let host = collate(batch.iter().map(|&i| (&inputs[i], None)), max_len);
            let on_device = host.to_device(device);
            model.encode_observed(
                on_device.tokens,
                on_device.segments,
                on_device.mask,
                &mut |layer, site, input| {
                    let lo = input.clone().min().into_scalar::<f32>();
                    let hi = input.clone().max().into_scalar::<f32>();
                    let entry = ranges
                        .entry(site_key(layer, site))
                        .or_insert((f32::INFINITY, f32::NEG_INFINITY));
                    entry.0 = entry.0.min(lo);
                    entry.1 = entry.1.max(hi);
                },
            );
        }
        ActivationRanges {
            cells: inputs.len(),
            ranges,
        }
    }

    pub fn get(&self, key: &str) -> Option<(f32, f32)> {
        self.ranges.get(key).copied()
    }
}

/// uint8 scale and zero point covering `[min, max]` (widened to include 0, so zero padding
/// stays exact).
pub fn uint8_params((lo, hi): (f32, f32)) -> (f32, u8) {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    if !(hi - lo).is_finite() || hi - lo <= 0.0 {
        return (1.0, 0);
    }
    let scale = (hi - lo) / 255.0;
    let zero = (-lo / scale).round().clamp(0.0, 255.0) as u8;
    (scale, zero)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint8_params_cover_the_range_and_keep_zero_exact() {
        let (scale, zero) = uint8_params((-1.0, 3.0));
        assert!((scale - 4.0 / 255.0).abs() < 1e-7);
        assert_eq!(zero, 64);
        // Non-negative inputs (after ReLU) use the whole range.
        let (scale, zero) = uint8_params((0.5, 2.55));
        assert!((scale - 0.01).abs() < 1e-7);
        assert_eq!(zero, 0);
        // A constant or empty range still gives a usable scale.
        assert_eq!(uint8_params((0.0, 0.0)), (1.0, 0));
        assert_eq!(uint8_params((f32::INFINITY, f32::NEG_INFINITY)), (1.0, 0));
    }
}
