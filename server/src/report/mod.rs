//! Report formats of `--check`: `text` (stage strips and findings for people), `json` (stable,
//! for tools; schema in server/README.md), `sarif` (2.1.0, for code scanning) and `github`
//! (workflow annotations). Each renders a [`CheckReport`] to a string; [`crate::output`]
//! writes it to stdout.

pub mod github;
pub mod json;
pub mod reference;
pub mod sarif;
pub mod text;

use std::fmt;
use std::str::FromStr;

use coral_core::{Severity, Stage};

use crate::check::CheckReport;

/// The output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
    Github,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Text, Format::Json, Format::Sarif, Format::Github];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected text, json, sarif or github)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Rendering choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours (text format only).
    pub color: bool,
}

/// Renders `report` in `format`.
pub fn render(report: &CheckReport, format: Format, options: RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, options.color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report),
    }
}

/// One-letter code of a stage in the stage strip.
pub fn stage_letter(stage: Option<Stage>) -> char {
    stage.map_or(Stage::NO_LETTER, Stage::letter)
}

pub fn severity_str(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}
