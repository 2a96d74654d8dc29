//! Learning-rate schedules: constant, or linear warm-up followed by cosine or linear decay.

use serde::{Deserialize, Serialize};

/// What the learning rate does after warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decay {
    /// Stays at the peak.
    Constant,
    /// Half a cosine from the peak down to `final_fraction · peak` at the last step.
    #[default]
    Cosine,
    /// A straight line from the peak down to `final_fraction · peak` at the last step.
    Linear,
}

/// The learning rate as a function of the step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LrSchedule {
    /// Peak learning rate.
    pub lr: f64,
    /// Steps of linear warm-up from `lr / warmup_steps` to `lr` (0 = none).
    pub warmup_steps: u64,
    pub decay: Decay,
    /// Where the decay ends, as a fraction of the peak.
    pub final_fraction: f64,
}

impl Default for LrSchedule {
    fn default() -> Self {
        Self {
            lr: 3e-4,
            warmup_steps: 500,
            decay: Decay::Cosine,
            final_fraction: 0.05,
        }
    }
}

impl LrSchedule {
    /// The learning rate at `step` (0-based) of a run of `total_steps` steps.
    pub fn lr_at(&self, step: u64, total_steps: u64) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let floor = self.lr * self.final_fraction;
        let span = total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / span as f64).clamp(0.0, 1.0);
        match self.decay {
            Decay::Constant => self.lr,
            Decay::Linear => self.lr - (self.lr - floor) * progress,
            Decay::Cosine => {
                floor + (self.lr - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn warmup_then_cosine() {
        let s = LrSchedule {
            lr: 1.0,
            warmup_steps: 4,
            decay: Decay::Cosine,
            final_fraction: 0.0,
        };
        close(s.lr_at(0, 104), 0.25);
        close(s.lr_at(3, 104), 1.0);
        close(s.lr_at(4, 104), 1.0);
        close(s.lr_at(54, 104), 0.5);
        close(s.lr_at(104, 104), 0.0);
        close(s.lr_at(500, 104), 0.0);
    }

    #[test]
    fn linear_and_constant() {
        let linear = LrSchedule {
            lr: 2.0,
            warmup_steps: 0,
            decay: Decay::Linear,
            final_fraction: 0.5,
        };
        close(linear.lr_at(0, 10), 2.0);
        close(linear.lr_at(5, 10), 1.5);
        close(linear.lr_at(10, 10), 1.0);
        let constant = LrSchedule {
            decay: Decay::Constant,
            ..linear
        };
        close(constant.lr_at(9, 10), 2.0);
    }
}
