//! Where a notebook's stage entropy stands against the training corpus, from
//! `models/reference-stats.json` when it is there. The LSP's hover and diagnostics and the HTML
//! report both read it through here, so they quote the same percentile.
//!
//! Read leniently, since the file is written by training: under `normalized_entropy` (or
//! `stage_entropy.normalized`) any of
//! - `{"quantiles": [q0, …, q100]}` — values at evenly spaced ranks (any count ≥ 2),
//! - `{"percentiles": {"5": v, "50": v, …}}`,
//! - `{"values": [sample…]}` or a bare array — a sample of the corpus,
//! - `{"mean": m, "std": s}` — a z-score only.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine::{model_search_dirs, Engine, EngineConfig};

/// File name beside the model.
pub const REFERENCE_FILE: &str = "reference-stats.json";

/// The corpus distribution of normalized stage entropy.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceStats {
    pub path: PathBuf,
    /// (rank in [0, 1], value), ranks and values rising.
    points: Vec<(f64, f64)>,
    mean_std: Option<(f64, f64)>,
}

/// Where a value stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// Share of corpus notebooks below the value, in percent.
    pub percentile: Option<f64>,
    pub z_score: Option<f64>,
}

impl ReferenceStats {
    /// Reads the first `reference-stats.json` found in `dirs`.
    pub fn find(dirs: &[PathBuf]) -> Option<ReferenceStats> {
        dirs.iter().find_map(|dir| {
            let dir = if dir.extension().is_some_and(|e| e == "onnx") {
                dir.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                dir.clone()
            };
            let path = dir.join(REFERENCE_FILE);
            let text = std::fs::read_to_string(&path).ok()?;
            let stats = ReferenceStats::parse(&text, path.clone());
            if stats.is_none() {
                tracing::warn!(
                    "{}: no normalized entropy distribution in it; percentiles are off",
                    path.display()
                );
            }
            stats
        })
    }

    /// The statistics that go with `engine`: beside its model, else in the folders a model is
    /// looked for in (under the heuristics too, so both compare with the shipped corpus).
    pub fn for_engine(engine: &Engine, config: &EngineConfig) -> Option<ReferenceStats> {
        let mut dirs = Vec::new();
        if let Some(path) = engine.model_info().path {
            dirs.push(path);
        }
        dirs.extend(model_search_dirs(config));
        ReferenceStats::find(&dirs)
    }

    pub fn parse(text: &str, path: PathBuf) -> Option<ReferenceStats> {
        let root: Value = serde_json::from_str(text).ok()?;
        let dist = root
            .get("normalized_entropy")
            .or_else(|| root.pointer("/stage_entropy/normalized"))
            .or_else(|| root.pointer("/entropy/normalized"))?;
        let floats = |v: &Value| -> Option<Vec<f64>> {
            let mut out: Vec<f64> = v
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .filter(|x| x.is_finite())
                .collect();
            out.sort_by(f64::total_cmp);
            (out.len() >= 2).then_some(out)
        };
        let even = |values: Vec<f64>| -> Vec<(f64, f64)> {
            let last = (values.len() - 1) as f64;
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i as f64 / last, v))
                .collect()
        };
        let mut points = Vec::new();
        if let Some(values) = floats(dist) {
            points = even(values);
        } else if let Some(values) = dist.get("quantiles").and_then(floats) {
            points = even(values);
        } else if let Some(values) = dist.get("values").and_then(floats) {
            points = even(values);
        } else if let Some(map) = dist.get("percentiles").and_then(Value::as_object) {
            points = map
                .iter()
                .filter_map(|(k, v)| {
                    Some((
                        k.trim_start_matches('p').parse::<f64>().ok()? / 100.0,
                        v.as_f64()?,
                    ))
                })
                .filter(|(r, v)| r.is_finite() && v.is_finite() && (0.0..=1.0).contains(r))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let mean_std = match (
            dist.get("mean").and_then(Value::as_f64),
            dist.get("std")
                .or_else(|| dist.get("stdev"))
                .and_then(Value::as_f64),
        ) {
            (Some(m), Some(s)) if m.is_finite() && s.is_finite() && s > 0.0 => Some((m, s)),
            _ => None,
        };
        (points.len() >= 2 || mean_std.is_some()).then_some(ReferenceStats {
            path,
            points,
            mean_std,
        })
    }

    /// Where `value` stands in the corpus.
    pub fn standing(&self, value: f64) -> Standing {
        let percentile = (self.points.len() >= 2).then(|| {
            let first = self.points[0];
            let last = self.points[self.points.len() - 1];
            let rank = if value <= first.1 {
                first.0
            } else if value >= last.1 {
                last.0
            } else {
                self.points
                    .windows(2)
                    .find(|w| value >= w[0].1 && value <= w[1].1)
                    .map_or(last.0, |w| {
                        let span = w[1].1 - w[0].1;
                        if span <= f64::EPSILON {
                            w[1].0
                        } else {
                            w[0].0 + (w[1].0 - w[0].0) * (value - w[0].1) / span
                        }
                    })
            };
            rank * 100.0
        });
        Standing {
            percentile,
            z_score: self.mean_std.map(|(m, s)| (value - m) / s),
        }
    }
}

impl Standing {
    /// `5th percentile of the reference corpus` and the like; `None` when nothing is known.
    pub fn phrase(&self) -> Option<String> {
        match (self.percentile, self.z_score) {
            (Some(p), _) => Some(format!(
                "{} percentile of the reference corpus",
                ordinal(p.round() as i64)
            )),
            (None, Some(z)) => Some(format!("z = {z:.1} against the reference corpus")),
            (None, None) => None,
        }
    }

    /// ` (5th percentile of the reference corpus)` and the like, to append to a message; empty
    /// when nothing is known.
    pub fn describe(&self) -> String {
        self.phrase().map(|p| format!(" ({p})")).unwrap_or_default()
    }
}

fn ordinal(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_percentiles_and_z() {
        let stats = ReferenceStats::parse(
            r#"{"normalized_entropy": {"quantiles": [0.0, 0.4, 0.6, 0.8, 1.0], "mean": 0.6, "std": 0.2}}"#,
            PathBuf::new(),
        )
        .unwrap();
        let s = stats.standing(0.5);
        assert!((s.percentile.unwrap() - 37.5).abs() < 1e-9);
        assert!((s.z_score.unwrap() + 0.5).abs() < 1e-9);
        assert_eq!(s.describe(), " (38th percentile of the reference corpus)");
        let by_map = ReferenceStats::parse(
            r#"{"normalized_entropy": {"percentiles": {"0": 0.1, "50": 0.5, "100": 0.9}}}"#,
            PathBuf::new(),
        )
        .unwrap();
        assert!((by_map.standing(0.3).percentile.unwrap() - 25.0).abs() < 1e-9);
        assert!(ReferenceStats::parse(r#"{"other": 1}"#, PathBuf::new()).is_none());
        assert!(ReferenceStats::parse("not json", PathBuf::new()).is_none());
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(12), "12th");
        assert_eq!(ordinal(22), "22nd");
    }
}
