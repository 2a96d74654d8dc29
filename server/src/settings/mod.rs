//! One settings pipeline for every surface: defaults, then the configuration file (`coral.toml`
//! or `[tool.coral]`), then the command line, then (in the language server) the editor's
//! settings. Each source is read into a [`Layer`] of optional values; [`resolve`] stacks the
//! layers over a base [`EngineConfig`] into the one typed [`Settings`]. `--check` and the
//! language server both go through it, so they cannot read a key differently.

pub mod file;

use std::path::PathBuf;

use coral_core::{Rule, Stage};

use crate::engine::{Device, EngineConfig};

/// What one source of settings says. `None`: this source is silent and a lower layer's value
/// (or the default) stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    /// A model directory or `.onnx` file.
    pub model_dir: Option<PathBuf>,
    /// `false`: heuristics only.
    pub use_model: Option<bool>,
    pub device: Option<Device>,
    /// Threads for featurizing and ONNX Runtime, shared out between the sessions.
    pub threads: Option<usize>,
    /// ONNX Runtime sessions side by side.
    pub sessions: Option<usize>,
    /// Cells per model run.
    pub batch_size: Option<usize>,
    /// A seed table extending the built-in one.
    pub seeds: Option<PathBuf>,
    /// Normalized stage entropy below which a notebook gets CRL001 (already checked to be in
    /// 0..1 by whoever built the layer).
    pub min_entropy: Option<f64>,
    pub required_stages: Option<Vec<Stage>>,
    /// Only these rules; an empty list means every rule.
    pub select: Option<Vec<Rule>>,
    pub ignore: Option<Vec<Rule>>,
}

impl Layer {
    /// The language server's defaults: one ONNX Runtime session, since it labels one notebook
    /// at a time and a second session would only hold a second copy of the model.
    pub fn server_defaults() -> Layer {
        Layer {
            sessions: Some(1),
            ..Layer::default()
        }
    }
}

/// The effective settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How to build the engine, with the findings' thresholds and rule selection.
    pub engine: EngineConfig,
    /// Threads in all (featurizing; ONNX Runtime's are `engine.threads` per session).
    pub threads: Option<usize>,
    /// A model or device was asked for by name: a model that cannot be used is an error
    /// (`--check` exits 2) rather than a fallback to the heuristics.
    pub strict_model: bool,
}

/// Stacks `layers` (lowest first) over `base`.
pub fn resolve(base: &EngineConfig, layers: &[&Layer]) -> Settings {
    fn last<T: Clone>(layers: &[&Layer], get: impl Fn(&Layer) -> Option<&T>) -> Option<T> {
        layers.iter().rev().find_map(|l| get(l)).cloned()
    }
    let mut engine = base.clone();
    if let Some(dir) = last(layers, |l| l.model_dir.as_ref()) {
        engine.model_dir = Some(dir);
    }
    if let Some(use_model) = last(layers, |l| l.use_model.as_ref()) {
        engine.use_model = use_model;
    }
    if let Some(device) = last(layers, |l| l.device.as_ref()) {
        engine.device = device;
    }
    if let Some(seeds) = last(layers, |l| l.seeds.as_ref()) {
        engine.seeds = Some(seeds);
    }
    if let Some(batch_size) = last(layers, |l| l.batch_size.as_ref()) {
        engine.batch_size = batch_size.max(1);
    }
    let threads = last(layers, |l| l.threads.as_ref())
        .filter(|&t| t > 0)
        .or(base.threads);
    let (sessions, session_threads) = share_threads(threads, last(layers, |l| l.sessions.as_ref()));
    engine.sessions = sessions;
    engine.threads = session_threads;

    let findings = &mut engine.findings;
    if let Some(h) = last(layers, |l| l.min_entropy.as_ref()) {
        findings.min_normalized_entropy = h;
    }
    if let Some(stages) = last(layers, |l| l.required_stages.as_ref()) {
        findings.required_stages = stages;
    }
    if let Some(select) = last(layers, |l| l.select.as_ref()) {
        findings.select = select;
    }
    if let Some(ignore) = last(layers, |l| l.ignore.as_ref()) {
        findings.ignore = ignore;
    }
    let named = layers
        .iter()
        .any(|l| l.model_dir.is_some() || l.device.is_some());
    Settings {
        strict_model: engine.use_model && named,
        threads,
        engine,
    }
}

/// How `threads` (`None`: all cores) are shared between ONNX Runtime sessions: returns the
/// number of sessions and each one's intra-op threads. `sessions` defaults to one per thread,
/// at most 4 (each holds its own copy of the model and its activations).
pub fn share_threads(threads: Option<usize>, sessions: Option<usize>) -> (usize, Option<usize>) {
    let total = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let sessions = sessions.unwrap_or_else(|| total.clamp(1, 4)).max(1);
    if sessions > 1 {
        (sessions, Some((total / sessions).max(1)))
    } else {
        (sessions, threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_layers_win_key_by_key() {
        let file = Layer {
            min_entropy: Some(0.2),
            select: Some(vec![Rule::LowEntropy]),
            ignore: Some(vec![Rule::ScatteredImports]),
            seeds: Some(PathBuf::from("/proj/seeds.toml")),
            ..Layer::default()
        };
        let flags = Layer {
            min_entropy: Some(0.5),
            select: Some(Vec::new()),
            ..Layer::default()
        };
        let s = resolve(&EngineConfig::default(), &[&file, &flags]);
        let findings = &s.engine.findings;
        assert!((findings.min_normalized_entropy - 0.5).abs() < 1e-12);
        assert!(
            findings.select.is_empty(),
            "an empty select overrides: every rule"
        );
        assert_eq!(findings.ignore, [Rule::ScatteredImports]);
        assert_eq!(s.engine.seeds, Some(PathBuf::from("/proj/seeds.toml")));
        assert!(!s.strict_model);
    }

    #[test]
    fn a_named_model_is_strict_unless_the_model_is_off() {
        let named = Layer {
            device: Some(Device::Cpu),
            ..Layer::default()
        };
        let off = Layer {
            use_model: Some(false),
            ..Layer::default()
        };
        assert!(resolve(&EngineConfig::default(), &[&named]).strict_model);
        assert!(!resolve(&EngineConfig::default(), &[&named, &off]).strict_model);
    }

    #[test]
    fn sessions_share_the_threads() {
        // (threads, sessions) -> (sessions, threads per session)
        assert_eq!(share_threads(Some(4), None), (4, Some(1)));
        assert_eq!(share_threads(Some(12), None), (4, Some(3)));
        assert_eq!(share_threads(Some(4), Some(1)), (1, Some(4)));
        assert_eq!(share_threads(Some(4), Some(2)), (2, Some(2)));
        // Never fewer than one thread per session.
        assert_eq!(share_threads(Some(2), Some(3)), (3, Some(1)));
        let server = Layer::server_defaults();
        let threads = Layer {
            threads: Some(4),
            ..Layer::default()
        };
        let s = resolve(&EngineConfig::default(), &[&server, &threads]);
        assert_eq!((s.engine.sessions, s.engine.threads), (1, Some(4)));
    }
}
