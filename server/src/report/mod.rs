//! Report formats of `--check`: `text` (stage strips and findings for people), `json` (stable,
//! for tools; schema in server/README.md), `sarif` (2.1.0, for code scanning), `github`
//! (workflow annotations) and `html` (one self-contained page with the pipeline drawn). Each
//! renders a [`CheckReport`] to a string; [`crate::output`] writes it to stdout.

pub mod github;
pub mod html;
pub mod json;
pub mod reference;
pub mod sarif;
pub mod text;

use std::fmt;
use std::str::FromStr;

use coral_core::{Severity, Stage};

use crate::check::discover::FileKind;
use crate::check::{CheckReport, FileReport};
use github::AnnotationRoots;
use reference::ReferenceStats;

/// The output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Format {
    #[default]
    Text,
    Json,
    Sarif,
    Github,
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
            Format::Html => "html",
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
#[error("unknown format `{0}` (expected text, json, sarif, github or html)")]
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

/// Rendering choices, and what the run's surroundings tell the formats that need them. The
/// formats stay pure: the command line reads the environment and the files into this.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// ANSI colours (text format only).
    pub color: bool,
    /// What `github` annotation paths are relative to.
    pub roots: AnnotationRoots,
    /// The corpus distribution `html` places each notebook's entropy in.
    pub reference: Option<ReferenceStats>,
}

/// Renders `report` in `format`.
pub fn render(report: &CheckReport, format: Format, options: &RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, options.color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Github => github::render(report, &options.roots),
        Format::Html => html::render(report, options.reference.as_ref()),
    }
}

/// Lines of the file a finding about `cell` points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// 1-based first line (the cell's first source line; 1 for the notebook as a whole).
    pub line: usize,
    /// Last line, where it is known: in a percent script a cell ends before the next cell's
    /// marker. An `.ipynb` cell's source is JSON strings among other keys, and the last cell
    /// of a script runs to an end the report does not record, so neither has one.
    pub end_line: Option<usize>,
}

/// The region of `cell` (the whole notebook when `None`) in `file`.
pub fn cell_region(file: &FileReport, cell: Option<usize>) -> Region {
    let line = file.line_of(cell);
    let end_line = match (file.kind, cell) {
        (FileKind::PercentScript, Some(i)) => i
            .checked_add(1)
            .and_then(|next| file.cell_lines.get(next))
            .map(|&next| next.saturating_sub(1))
            .filter(|&end| end > line),
        _ => None,
    };
    Region { line, end_line }
}

/// One-letter code of a stage in the stage strip.
pub fn stage_letter(stage: Option<Stage>) -> char {
    stage.map_or(Stage::NO_LETTER, Stage::letter)
}

/// `1 notebook`, `2 notebooks`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn severity_str(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Error => "error",
    }
}
