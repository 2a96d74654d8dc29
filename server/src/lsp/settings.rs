//! Server settings, from `initializationOptions` and `workspace/configuration` (section
//! `coral`). Every key is optional; a bad value is reported and leaves that setting as it was.
//!
//! ```json
//! {
//!   "modelPath": "models/",        // a directory with coral.onnx + vocab.json, or the .onnx file
//!   "useModel": true,              // false: heuristics only
//!   "device": "auto",              // auto | cpu | cuda
//!   "debounceMs": 150,             // wait this long after the last edit before labelling
//!   "minEntropy": 0.35,            // normalized stage entropy below this is CRL001
//!   "requireStages": ["MODEL"],    // CRL006 when one is missing
//!   "select": ["CRL001"],          // only these rules (codes or names); absent: all
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

use coral_core::metrics::{FindingsConfig, Rule};
use coral_core::Stage;
use serde_json::{Map, Value};

use super::document::DocumentKind;
use crate::engine::{Device, EngineConfig};

/// Default debounce between the last edit and labelling.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(150);
/// Longest debounce accepted.
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(10);

/// The effective settings.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // one switch per surface, as the client sends them
pub struct Settings {
    pub model_path: Option<PathBuf>,
    pub use_model: bool,
    pub device: Device,
    pub debounce: Duration,
    pub findings: FindingsConfig,
    /// Only these rules report (`None`: all).
    pub select: Option<Vec<Rule>>,
    pub ignore: Vec<Rule>,
    pub inlay_hints: bool,
    pub hover: bool,
    pub diagnostics: bool,
    /// `None`: per document kind ([`Settings::stage_diagnostics_for`]).
    pub stage_diagnostics: Option<bool>,
    pub log_level: Option<String>,
    pub log_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model_path: None,
            use_model: true,
            device: Device::Auto,
            debounce: DEFAULT_DEBOUNCE,
            findings: FindingsConfig::default(),
            select: None,
            ignore: Vec::new(),
            inlay_hints: true,
            hover: true,
            diagnostics: true,
            stage_diagnostics: None,
            log_level: None,
            log_file: None,
        }
    }
}

impl Settings {
    /// Whether findings of `rule` are reported.
    pub fn reports(&self, rule: Rule) -> bool {
        self.select.as_ref().is_none_or(|s| s.contains(&rule)) && !self.ignore.contains(&rule)
    }

    /// Whether cells of a `kind` document get the stage diagnostic. Unless set, only `JupyterLab`'s
    /// virtual notebooks do: jupyterlab-lsp shows diagnostics and hover but no inlay hints.
    pub fn stage_diagnostics_for(&self, kind: DocumentKind) -> bool {
        self.stage_diagnostics
            .unwrap_or(kind == DocumentKind::Virtual)
    }

    /// What the inference engine must be rebuilt for when it changes.
    pub fn engine_key(&self) -> (Option<PathBuf>, bool, Device) {
        (self.model_path.clone(), self.use_model, self.device)
    }

    /// The engine configuration these settings ask for, over `base` (the command line's).
    pub fn engine_config(&self, base: &EngineConfig) -> EngineConfig {
        EngineConfig {
            model_dir: self.model_path.clone().or_else(|| base.model_dir.clone()),
            device: self.device,
            use_model: self.use_model && base.use_model,
            findings: self.findings.clone(),
            ..base.clone()
        }
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
        for (key, value) in object {
            match key.as_str() {
                "modelPath" => match value {
                    Value::Null => self.model_path = None,
                    Value::String(s) if s.trim().is_empty() => self.model_path = None,
                    Value::String(s) => self.model_path = Some(PathBuf::from(s)),
                    other => bad(key, format!("expected a path, got {other}")),
                },
                "useModel" => set_bool(&mut self.use_model, key, value, &mut bad),
                "device" => match value.as_str().map(Device::from_str) {
                    Some(Ok(device)) => self.device = device,
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
                    Some(x) if (0.0..=1.0).contains(&x) => self.findings.min_normalized_entropy = x,
                    _ => bad(
                        key,
                        format!("expected a normalized entropy in [0, 1], got {value}"),
                    ),
                },
                "requireStages" | "requireStage" => match parse_list::<Stage>(value) {
                    Ok(stages) => self.findings.required_stages = stages,
                    Err(e) => bad(key, e),
                },
                "select" => match value {
                    Value::Null => self.select = None,
                    _ => match parse_list::<Rule>(value) {
                        Ok(rules) => self.select = Some(rules),
                        Err(e) => bad(key, e),
                    },
                },
                "ignore" => match parse_list::<Rule>(value) {
                    Ok(rules) => self.ignore = rules,
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
        let mut s = Settings::default();
        assert_eq!(s.debounce, Duration::from_millis(150));
        let problems = s.apply(&json!({"coral": {
            "debounceMs": 0, "device": "cpu", "minEntropy": 0.5,
            "requireStages": ["MODEL", "evaluate"], "ignore": "CRL004",
            "select": ["low-entropy", "CRL004"], "inlayHints": false, "stageDiagnostics": true,
            "modelPath": "/m", "logLevel": "debug"
        }}));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s.debounce, Duration::ZERO);
        assert_eq!(s.device, Device::Cpu);
        assert_eq!(s.findings.required_stages, [Stage::Model, Stage::Evaluate]);
        assert!(s.reports(Rule::LowEntropy));
        assert!(
            !s.reports(Rule::ScatteredImports),
            "ignore wins over select"
        );
        assert!(!s.reports(Rule::ModelWithoutEvaluate));
        assert!(!s.inlay_hints && s.stage_diagnostics == Some(true));
        assert!(Settings::default().stage_diagnostics_for(DocumentKind::Virtual));
        assert!(!Settings::default().stage_diagnostics_for(DocumentKind::Notebook));
        assert_eq!(s.model_path, Some(PathBuf::from("/m")));
    }

    #[test]
    fn bad_values_are_reported_and_leave_the_rest() {
        let mut s = Settings::default();
        let problems = s.apply(&json!({
            "debounceMs": -3, "device": "tpu", "minEntropy": 7, "requireStages": ["PLOT"],
            "hover": "yes", "whatever": 1, "diagnostics": false
        }));
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert_eq!(s.debounce, DEFAULT_DEBOUNCE);
        assert_eq!(s.device, Device::Auto);
        assert!(!s.diagnostics);
        assert!(s.apply(&json!(null)).is_empty());
        assert_eq!(s.apply(&json!(3)).len(), 1);
    }
}
