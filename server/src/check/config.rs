//! `--check` settings from a file: `coral.toml` (top-level keys) or the `[tool.coral]` table of
//! `pyproject.toml`, the first found walking up from the working directory (`coral.toml` wins
//! within one directory). Command-line flags override it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// Report format.
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
