//! Settings from a file: `coral.toml` (top-level keys) or the `[tool.coral]` table of
//! `pyproject.toml`, the first found walking up from the working directory (`--check`) or the
//! workspace folder (the language server); `coral.toml` wins within one directory. Flags and
//! editor settings override it ([`super::resolve`]).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use coral_core::{Rule, Stage};
use serde::Deserialize;

use super::Layer;
use crate::engine::Device;

/// Settings a configuration file may hold. Relative paths are relative to the file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Normalized stage entropy below which a notebook gets CRL001.
    #[serde(alias = "min_entropy")]
    pub min_entropy: Option<f64>,
    /// Stages every notebook must have (CRL006).
    #[serde(
        alias = "require-stage",
        alias = "require_stages",
        alias = "require_stage"
    )]
    pub require_stages: Option<Vec<String>>,
    /// Only these rules (codes or names).
    pub select: Option<Vec<String>>,
    /// Not these rules (codes or names).
    pub ignore: Option<Vec<String>>,
    /// A seed table extending the built-in one.
    pub seeds: Option<PathBuf>,
    /// Model directory (or `.onnx` file).
    pub model: Option<PathBuf>,
    /// `auto`, `cpu` or `cuda`.
    pub device: Option<String>,
    /// Threads for featurizing and for ONNX Runtime.
    pub threads: Option<usize>,
    /// ONNX Runtime sessions side by side, sharing the threads.
    pub sessions: Option<usize>,
    /// Cells per model run.
    #[serde(alias = "batch_size")]
    pub batch_size: Option<usize>,
    /// Report format (`--check` only).
    pub format: Option<String>,
}

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// A configuration and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub config: FileConfig,
}

impl LoadedConfig {
    /// A path from the file, made relative to the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The file's settings as a layer, values parsed and paths made absolute; the first value
    /// that cannot be used is an error naming the file and the key.
    pub fn layer(&self) -> Result<Layer, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: self.path.clone(),
            message: format!("{key}: {message}"),
        };
        let config = &self.config;
        if let Some(h) = config.min_entropy {
            if !(0.0..=1.0).contains(&h) {
                return Err(invalid(
                    "min-entropy",
                    format!("{h} is outside 0..1 (it is the normalized stage entropy)"),
                ));
            }
        }
        Ok(Layer {
            model_dir: config.model.as_deref().map(|p| self.resolve(p)),
            use_model: None,
            device: parse_one::<Device>(config.device.as_deref())
                .map_err(|e| invalid("device", e))?,
            threads: config.threads.filter(|&t| t > 0),
            sessions: config.sessions,
            batch_size: config.batch_size,
            seeds: config.seeds.as_deref().map(|p| self.resolve(p)),
            min_entropy: config.min_entropy,
            required_stages: parse_all::<Stage>(config.require_stages.as_deref())
                .map_err(|e| invalid("require-stages", e))?,
            select: parse_all::<Rule>(config.select.as_deref())
                .map_err(|e| invalid("select", e))?,
            ignore: parse_all::<Rule>(config.ignore.as_deref())
                .map_err(|e| invalid("ignore", e))?,
        })
    }
}

fn parse_one<T: FromStr>(value: Option<&str>) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    value
        .map(|v| v.parse::<T>().map_err(|e| e.to_string()))
        .transpose()
}

fn parse_all<T: FromStr>(values: Option<&[String]>) -> Result<Option<Vec<T>>, String>
where
    T::Err: std::fmt::Display,
{
    values
        .map(|vs| {
            vs.iter()
                .map(|v| v.parse::<T>().map_err(|e| e.to_string()))
                .collect()
        })
        .transpose()
}

/// Reads a configuration file: `pyproject.toml` by its `[tool.coral]` table (`None` without
/// one), anything else as a `coral.toml`.
pub fn read_config(path: &Path) -> Result<Option<LoadedConfig>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let is_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    let config = if is_pyproject {
        let value: toml::Table = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let Some(table) = value.get("tool").and_then(|t| t.get("coral")).cloned() else {
            return Ok(None);
        };
        table
            .try_into::<FileConfig>()
            .map_err(|e| invalid(format!("[tool.coral]: {e}")))?
    } else {
        toml::from_str::<FileConfig>(&text).map_err(|e| invalid(e.to_string()))?
    };
    Ok(Some(LoadedConfig {
        path: path.to_path_buf(),
        config,
    }))
}

/// The configuration found walking up from `start`: in each directory `coral.toml`, then a
/// `pyproject.toml` with a `[tool.coral]` table.
pub fn find_config(start: &Path) -> Result<Option<LoadedConfig>, ConfigError> {
    for dir in start.ancestors() {
        let coral = dir.join("coral.toml");
        if coral.is_file() {
            return read_config(&coral);
        }
        let pyproject = dir.join("pyproject.toml");
        if pyproject.is_file() {
            if let Some(found) = read_config(&pyproject)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyproject_table_and_coral_toml_walking_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).expect("mkdir");
        assert_eq!(find_config(&nested).expect("no error"), None);

        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n[tool.coral]\nmin-entropy = 0.5\nrequire-stages = [\"MODEL\"]\nseeds = \"s.toml\"\n",
        )
        .expect("write");
        let found = find_config(&nested).expect("no error").expect("found");
        assert_eq!(found.config.min_entropy, Some(0.5));
        assert_eq!(found.config.require_stages, Some(vec!["MODEL".into()]));
        assert_eq!(
            found.resolve(Path::new("s.toml")),
            dir.path().join("s.toml")
        );

        std::fs::write(dir.path().join("a/coral.toml"), "ignore = [\"CRL004\"]\n").expect("write");
        let found = find_config(&nested).expect("no error").expect("found");
        assert_eq!(found.config.ignore, Some(vec!["CRL004".into()]));

        let layer = found.layer().expect("valid");
        assert_eq!(layer.ignore, Some(vec![Rule::ScatteredImports]));
        assert_eq!(layer.select, None, "absent keys say nothing");

        std::fs::write(
            dir.path().join("a/coral.toml"),
            "require-stages = [\"PLOT\"]\n",
        )
        .expect("write");
        let found = find_config(&nested).expect("no error").expect("found");
        let err = found.layer().expect_err("unknown stage");
        assert!(
            err.to_string().contains("coral.toml: require-stages: "),
            "{err}"
        );

        std::fs::write(dir.path().join("a/coral.toml"), "min-entrpy = 1\n").expect("write");
        let err = find_config(&nested).expect_err("typo is an error");
        assert!(err.to_string().contains("min-entrpy"), "{err}");
    }

    #[test]
    fn pyproject_without_table_is_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n",
        )
        .expect("write");
        assert_eq!(find_config(dir.path()).expect("no error"), None);
    }
}
