//! The editor's settings, from `initializationOptions` and `workspace/configuration` (section
//! `coral`). Every key is optional; a bad value is reported and leaves that setting as it was.
//! The model and findings keys form the top [`Layer`] of [`crate::settings::resolve`], over
//! the workspace's `coral.toml` and the command line; the rest switch the editor surfaces.
//!
//! ```json
//! {
//!   "modelPath": "models/",        // a directory with coral.onnx + vocab.json, or the .onnx file
//!   "useModel": true,              // false: heuristics only
//!   "device": "auto",              // auto | cpu | cuda
//!   "debounceMs": 150,             // wait this long after the last edit before labelling
//!   "minEntropy": 0.35,            // normalized stage entropy below this is CRL001
//!   "requireStages": ["MODEL"],    // CRL006 when one is missing
//!   "select": ["CRL001"],          // only these rules (codes or names); empty: all
//!   "ignore": ["scattered-imports"],
//!   "inlayHints": true,            // `EXPLORE 0.91` after each code cell's first line
//!   "hover": true,                 // probabilities, weak rule, stage strip
//!   "diagnostics": true,           // pipeline findings
//!   "stageDiagnostics": false,     // an information diagnostic carrying each cell's stage
//!                                  // (unset: on in JupyterLab, which shows no inlay hints)
//!   "logLevel": "info",            // error | warn | info | debug | trace, or a tracing filter
//!   "logFile": null                // log here instead of stderr
//! }
//! ```

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use coral_core::metrics::Rule;
use coral_core::Stage;
use serde_json::{Map, Value};

use super::document::DocumentKind;
use crate::engine::Device;
use crate::settings::Layer;

/// Default debounce between the last edit and labelling.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(150);
/// Longest debounce accepted.
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(10);

/// What the editor asked for.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // one switch per surface, as the client sends them
pub struct ClientSettings {
    /// Model and findings settings, over the configuration file and the command line.
    pub layer: Layer,
    pub debounce: Duration,
    pub inlay_hints: bool,
    pub hover: bool,
    pub diagnostics: bool,
    /// `None`: per document kind ([`ClientSettings::stage_diagnostics_for`]).
    pub stage_diagnostics: Option<bool>,
    pub log_level: Option<String>,
    pub log_file: Option<PathBuf>,
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            layer: Layer::default(),
            debounce: DEFAULT_DEBOUNCE,
            inlay_hints: true,
            hover: true,
            diagnostics: true,
            stage_diagnostics: None,
            log_level: None,
            log_file: None,
        }
    }
}

impl ClientSettings {
    /// Whether cells of a `kind` document get the stage diagnostic. Unless set, only `JupyterLab`'s
    /// virtual notebooks do: jupyterlab-lsp shows diagnostics and hover but no inlay hints.
    pub fn stage_diagnostics_for(&self, kind: DocumentKind) -> bool {
        self.stage_diagnostics
            .unwrap_or(kind == DocumentKind::Virtual)
    }

    /// Applies a settings object (or an object with a `coral` key holding one) over these
    /// settings. Returns one message per value that could not be used.
    pub fn apply(&mut self, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(object) = section(value) else {
            if !value.is_null() {
                problems.push(format!("settings must be an object, not {value}"));
            }
            return problems;
        };
        let mut bad = |key: &str, why: String| problems.push(format!("setting `{key}`: {why}"));
        let layer = &mut self.layer;
        for (key, value) in object {
            match key.as_str() {
                "modelPath" => match value {
                    Value::Null => layer.model_dir = None,
                    Value::String(s) if s.trim().is_empty() => layer.model_dir = None,
                    Value::String(s) => layer.model_dir = Some(PathBuf::from(s)),
                    other => bad(key, format!("expected a path, got {other}")),
                },
                "useModel" => match value {
                    Value::Null => layer.use_model = None,
                    Value::Bool(b) => layer.use_model = Some(*b),
                    other => bad(key, format!("expected true or false, got {other}")),
                },
                "device" => match value.as_str().map(Device::from_str) {
                    Some(Ok(device)) => layer.device = Some(device),
                    Some(Err(e)) => bad(key, e.to_string()),
                    None => bad(key, format!("expected auto, cpu or cuda, got {value}")),
                },
                "debounceMs" | "debounce" => match value.as_f64() {
                    Some(ms) if ms.is_finite() && ms >= 0.0 => {
                        self.debounce = Duration::from_secs_f64(ms / 1000.0).min(MAX_DEBOUNCE);
                    }
                    _ => bad(key, format!("expected milliseconds ≥ 0, got {value}")),
                },
                "minEntropy" => match value.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => layer.min_entropy = Some(x),
                    _ => bad(
                        key,
                        format!("expected a normalized entropy in [0, 1], got {value}"),
                    ),
                },
                "requireStages" | "requireStage" => match parse_list::<Stage>(value) {
                    Ok(stages) => layer.required_stages = Some(stages),
                    Err(e) => bad(key, e),
                },
                "select" => match parse_list::<Rule>(value) {
                    Ok(rules) => layer.select = Some(rules),
                    Err(e) => bad(key, e),
                },
                "ignore" => match parse_list::<Rule>(value) {
                    Ok(rules) => layer.ignore = Some(rules),
                    Err(e) => bad(key, e),
                },
                "inlayHints" => set_bool(&mut self.inlay_hints, key, value, &mut bad),
                "hover" => set_bool(&mut self.hover, key, value, &mut bad),
                "diagnostics" => set_bool(&mut self.diagnostics, key, value, &mut bad),
                "stageDiagnostics" => match value {
                    Value::Null => self.stage_diagnostics = None,
                    Value::Bool(b) => self.stage_diagnostics = Some(*b),
                    other => bad(key, format!("expected true, false or null, got {other}")),
                },
                "logLevel" => match value {
                    Value::Null => self.log_level = None,
                    Value::String(s) => self.log_level = Some(s.clone()),
                    other => bad(key, format!("expected a level, got {other}")),
                },
                "logFile" => match value {
                    Value::Null => self.log_file = None,
                    Value::String(s) if s.trim().is_empty() => self.log_file = None,
                    Value::String(s) => self.log_file = Some(PathBuf::from(s)),
                    other => bad(key, format!("expected a path, got {other}")),
                },
                other => bad(other, "unknown setting; ignored".to_owned()),
            }
        }
        problems
    }
}

/// The settings object inside `value`: `value.coral` when present, else `value` itself.
fn section(value: &Value) -> Option<&Map<String, Value>> {
    let object = value.as_object()?;
    match object.get("coral") {
        Some(Value::Object(inner)) => Some(inner),
        _ => Some(object),
    }
}

fn set_bool(slot: &mut bool, key: &str, value: &Value, bad: &mut impl FnMut(&str, String)) {
    match value.as_bool() {
        Some(b) => *slot = b,
        None => bad(key, format!("expected true or false, got {value}")),
    }
}

/// A list of names (or one name) parsed with `FromStr`.
fn parse_list<T: FromStr>(value: &Value) -> Result<Vec<T>, String>
where
    T::Err: std::fmt::Display,
{
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            item.as_str()
                .ok_or_else(|| format!("expected a name, got {item}"))
                .and_then(|s| s.parse::<T>().map_err(|e| e.to_string()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides() {
        let mut s = ClientSettings::default();
        assert_eq!(s.debounce, Duration::from_millis(150));
        let problems = s.apply(&json!({"coral": {
            "debounceMs": 0, "device": "cpu", "minEntropy": 0.5,
            "requireStages": ["MODEL", "evaluate"], "ignore": "CRL004",
            "select": ["low-entropy", "CRL004"], "inlayHints": false, "stageDiagnostics": true,
            "modelPath": "/m", "logLevel": "debug"
        }}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.debounce, Duration::ZERO);
        let layer = &s.layer;
        assert_eq!(layer.device, Some(Device::Cpu));
        assert_eq!(
            layer.required_stages,
            Some(vec![Stage::Model, Stage::Evaluate])
        );
        assert_eq!(
            layer.select,
            Some(vec![Rule::LowEntropy, Rule::ScatteredImports])
        );
        assert_eq!(layer.ignore, Some(vec![Rule::ScatteredImports]));
        assert_eq!(layer.min_entropy, Some(0.5));
        assert!(!s.inlay_hints && s.stage_diagnostics == Some(true));
        assert!(ClientSettings::default().stage_diagnostics_for(DocumentKind::Virtual));
        assert!(!ClientSettings::default().stage_diagnostics_for(DocumentKind::Notebook));
        assert_eq!(layer.model_dir, Some(PathBuf::from("/m")));
        // `null` and an empty path say nothing: the configuration file's model stands.
        assert!(s
            .apply(&json!({"modelPath": "", "select": null}))
            .is_empty());
        assert_eq!(
            (s.layer.model_dir.as_ref(), s.layer.select.as_deref()),
            (None, Some(&[][..]))
        );
    }

    #[test]
    fn bad_values_are_reported_and_leave_the_rest() {
        let mut s = ClientSettings::default();
        let problems = s.apply(&json!({
            "debounceMs": -3, "device": "tpu", "minEntropy": 7, "requireStages": ["PLOT"],
            "hover": "yes", "whatever": 1, "diagnostics": false
        }));
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert_eq!(s.debounce, DEFAULT_DEBOUNCE);
        assert_eq!(s.layer, Layer::default());
        assert!(!s.diagnostics);
        assert!(s.apply(&json!(null)).is_empty());
        assert_eq!(s.apply(&json!(3)).len(), 1);
    }
}
