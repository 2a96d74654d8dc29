//! Labelling a snapshot of a document, off the handler path, and what the surfaces show:
//! inlay hint text, hover text and per-URI diagnostics.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range as Lines;

use coral_core::metrics::{Finding, Rule, Severity};
use coral_core::{Notebook, Stage};
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, Uri,
};

use super::document::{percent, Document, DocumentKind, TextDocument, VirtualNotebook};
use super::encoding::PositionEncoding;
use super::features::FeatureCache;
use super::session::Publish;
use super::settings::ClientSettings;
use crate::engine::{CellLabel, Engine, LabelSource, ModelInfo, NotebookLabels};
use crate::report::reference::{ReferenceStats, Standing};
use coral_core::metrics::FindingsConfig;

/// Diagnostic `source`.
pub const SOURCE: &str = "coral";

/// Where a cell of the core notebook is shown: a URI and the line its label goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub uri: Uri,
    /// The cell's first line (0 in a notebook cell; the marker line in a percent script).
    pub line: u32,
    /// The end of that line, in the negotiated encoding.
    pub line_end: u32,
    /// The lines that belong to the cell, for hover (the marker line alone in a percent script).
    pub block: Lines<u32>,
}

impl Slot {
    pub fn first_line(&self) -> Range {
        Range::new(
            Position::new(self.line, 0),
            Position::new(self.line, self.line_end),
        )
    }
}

/// A document at one generation, as the worker labels it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub key: Uri,
    pub generation: u64,
    pub notebook: Notebook,
    /// One per cell of `notebook` (`None` where a cell cannot be placed).
    pub slots: Vec<Option<Slot>>,
    /// Every URI diagnostics go to, with the version of its text.
    pub targets: Vec<(Uri, Option<i32>)>,
    pub encoding: PositionEncoding,
    pub kind: DocumentKind,
}

impl Snapshot {
    pub fn new(
        key: &Uri,
        generation: u64,
        document: &Document,
        encoding: PositionEncoding,
    ) -> Snapshot {
        let (notebook, slots, targets) = match document {
            Document::Notebook(nb) => (
                nb.to_core(),
                nb.cells()
                    .iter()
                    .map(|cell| {
                        Some(Slot {
                            uri: cell.uri.clone(),
                            line: 0,
                            line_end: cell
                                .document
                                .line_end(0, encoding)
                                .map_or(0, |p| p.character),
                            block: 0..u32::try_from(cell.document.line_count()).unwrap_or(u32::MAX),
                        })
                    })
                    .collect(),
                nb.cells()
                    .iter()
                    .map(|cell| (cell.uri.clone(), Some(cell.document.version())))
                    .collect(),
            ),
            Document::Text(text) => {
                let notebook = document.to_core();
                let slots = text_slots(key, text, &notebook, encoding);
                (notebook, slots, vec![(key.clone(), Some(text.version()))])
            }
            // Recovered once, for the notebook and the places of its cells.
            Document::Virtual(virtual_notebook) => {
                return Snapshot::of_virtual(key, generation, virtual_notebook, encoding)
            }
        };
        Snapshot {
            key: key.clone(),
            generation,
            notebook,
            slots,
            targets,
            encoding,
            kind: document.kind(),
        }
    }

    /// A virtual notebook: its recovered cells, each labelled on its label line.
    fn of_virtual(
        key: &Uri,
        generation: u64,
        document: &VirtualNotebook,
        encoding: PositionEncoding,
    ) -> Snapshot {
        let recovery = document.recover();
        tracing::debug!(
            "{}: {} cells recovered ({:?}{})",
            key.as_str(),
            recovery.cells.len(),
            recovery.method,
            document
                .saved()
                .map(|saved| format!(", saved notebook {}", saved.path.display()))
                .unwrap_or_default()
        );
        let text = document.text();
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let slots = recovery
            .cells
            .iter()
            .map(|cell| {
                let (lines, line) = (cell.lines.as_ref()?, cell.label_line?);
                let end = text.line_end(line, encoding)?;
                Some(Slot {
                    uri: key.clone(),
                    line: end.line,
                    line_end: end.character,
                    block: to_u32(lines.start)..to_u32(lines.end),
                })
            })
            .collect();
        Snapshot {
            key: key.clone(),
            generation,
            notebook: recovery.notebook(),
            slots,
            targets: vec![(key.clone(), Some(text.version()))],
            encoding,
            kind: DocumentKind::Virtual,
        }
    }
}

/// Slots of a percent script's cells (their marker lines).
pub fn text_slots(
    uri: &Uri,
    text: &TextDocument,
    notebook: &Notebook,
    encoding: PositionEncoding,
) -> Vec<Option<Slot>> {
    let starts = percent::cell_starts(text.text());
    if starts.len() != notebook.cells.len() {
        tracing::warn!(
            "{}: found {} cell markers for {} cells; labels are not placed",
            uri.as_str(),
            starts.len(),
            notebook.cells.len()
        );
        return vec![None; notebook.cells.len()];
    }
    starts
        .iter()
        .map(|start| {
            let end = text.line_end(start.line, encoding)?;
            Some(Slot {
                uri: uri.clone(),
                line: end.line,
                line_end: end.character,
                block: end.line..end.line.saturating_add(1),
            })
        })
        .collect()
}

/// The labels of one snapshot and the diagnostics to publish for it.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub generation: u64,
    pub labels: NotebookLabels,
    /// Slot of each code cell label (parallel to `labels.cells`).
    pub label_slots: Vec<Option<Slot>>,
    pub model: ModelInfo,
    pub standing: Option<Standing>,
    /// Every target URI, with its version and diagnostics (empty lists included).
    pub diagnostics: Vec<Publish>,
}

impl Analysis {
    /// The label of the notebook cell with `uri`.
    pub fn label_for_cell(&self, uri: &Uri) -> Option<&CellLabel> {
        self.label_slots
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|s| &s.uri == uri))
            .and_then(|i| self.labels.cells.get(i))
    }

    /// The label of the core cell at `index`.
    pub fn label_at(&self, index: usize) -> Option<&CellLabel> {
        self.labels.cells.iter().find(|l| l.index == index)
    }

    /// The label of the cell whose lines in `uri` include `line`.
    pub fn label_on_line(&self, uri: &Uri, line: u32) -> Option<&CellLabel> {
        self.labels
            .cells
            .iter()
            .zip(&self.label_slots)
            .find(|(_, slot)| {
                slot.as_ref()
                    .is_some_and(|s| &s.uri == uri && s.block.contains(&line))
            })
            .map(|(label, _)| label)
    }
}

/// Labels `snapshot` (blocking: run it on a blocking thread) and builds its diagnostics.
pub fn analyze(
    snapshot: &Snapshot,
    engine: &Engine,
    epoch: u64,
    features: &mut FeatureCache,
    settings: &ClientSettings,
    findings: &FindingsConfig,
    reference: Option<&ReferenceStats>,
) -> Analysis {
    let cells = features.featurize(&snapshot.notebook, engine.seeds(), epoch);
    let labels = engine
        .label_features(std::slice::from_ref(&cells), findings)
        .pop()
        .unwrap_or_else(|| NotebookLabels {
            cells: Vec::new(),
            report: coral_core::metrics::check(&[], findings),
        });
    let label_slots = labels
        .cells
        .iter()
        .map(|l| snapshot.slots.get(l.index).cloned().flatten())
        .collect();
    let standing = reference.map(|r| r.standing(labels.report.summary.normalized_entropy));
    let mut analysis = Analysis {
        generation: snapshot.generation,
        labels,
        label_slots,
        model: engine.model_info(),
        standing,
        diagnostics: Vec::new(),
    };
    analysis.diagnostics = diagnostics(snapshot, &analysis, settings);
    analysis
}

fn diagnostics(
    snapshot: &Snapshot,
    analysis: &Analysis,
    settings: &ClientSettings,
) -> Vec<Publish> {
    let mut by_uri: HashMap<&Uri, Vec<Diagnostic>> = HashMap::new();
    if settings.diagnostics {
        for finding in &analysis.labels.report.findings {
            let Some(slot) = finding_slot(snapshot, analysis, finding) else {
                continue;
            };
            let mut message = finding.message.clone();
            if finding.rule == Rule::LowEntropy {
                if let Some(standing) = &analysis.standing {
                    message.push_str(&standing.describe());
                }
            }
            by_uri.entry(&slot.uri).or_default().push(Diagnostic {
                range: slot.first_line(),
                severity: Some(severity(finding.severity)),
                code: Some(NumberOrString::String(finding.rule.code().to_owned())),
                source: Some(SOURCE.to_owned()),
                message: format!("{message} [{}]", finding.rule.name()),
                ..Diagnostic::default()
            });
        }
    }
    if settings.stage_diagnostics_for(snapshot.kind) {
        for (label, slot) in analysis.labels.cells.iter().zip(&analysis.label_slots) {
            let (Some(slot), Some(text)) = (slot, hint_text(label)) else {
                continue;
            };
            by_uri.entry(&slot.uri).or_default().push(Diagnostic {
                range: slot.first_line(),
                severity: Some(DiagnosticSeverity::INFORMATION),
                code: Some(NumberOrString::String("stage".to_owned())),
                source: Some(SOURCE.to_owned()),
                message: format!("stage: {text}"),
                ..Diagnostic::default()
            });
        }
    }
    snapshot
        .targets
        .iter()
        .map(|(uri, version)| {
            let mut list = by_uri.remove(uri).unwrap_or_default();
            list.sort_by_key(|d| d.range.start.line);
            (uri.clone(), *version, list)
        })
        .collect()
}

/// The cell a finding is shown on: its own cell, else the first code cell, else the first cell.
fn finding_slot<'a>(
    snapshot: &'a Snapshot,
    analysis: &Analysis,
    finding: &Finding,
) -> Option<&'a Slot> {
    let first_code = analysis.labels.cells.first().map(|l| l.index);
    finding
        .cell
        .and_then(|i| snapshot.slots.get(i).and_then(Option::as_ref))
        .or_else(|| first_code.and_then(|i| snapshot.slots.get(i).and_then(Option::as_ref)))
        .or_else(|| snapshot.slots.iter().flatten().next())
}

fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Info => DiagnosticSeverity::INFORMATION,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Error => DiagnosticSeverity::ERROR,
    }
}

/// `EXPLORE 0.91` (model) or `EXPLORE` (heuristics); `None` for a cell without a stage.
pub fn hint_text(label: &CellLabel) -> Option<String> {
    let stage = label.stage?;
    Some(match label.probabilities {
        Some(p) => format!(
            "{stage} {:.2}",
            p.get(stage.index()).copied().unwrap_or(0.0)
        ),
        None => stage.to_string(),
    })
}

/// One-line explanation of where a label came from (the hint's tooltip).
pub fn provenance(label: &CellLabel, model: &ModelInfo) -> String {
    match (label.source, &label.heuristic_rule) {
        (LabelSource::Model, Some(rule)) => format!("coral model; weak rule `{rule}` also fires"),
        (LabelSource::Model, None) => "coral model".to_owned(),
        (LabelSource::Heuristic, Some(rule)) => format!(
            "weak rule `{rule}` ({})",
            if model.fallback {
                "no model"
            } else {
                "the model gave no output"
            }
        ),
        (LabelSource::Heuristic, None) => "no weak rule covers this cell".to_owned(),
    }
}

/// Hover text: the stage, all five probabilities, the weak rule and the stage strip.
pub fn hover_markdown(label: &CellLabel, analysis: &Analysis, cell_number: usize) -> String {
    let mut out = String::new();
    match label.stage {
        Some(stage) => {
            let _ = write!(out, "**coral** · cell {cell_number} · **{stage}**");
            if let Some(p) = label.probabilities {
                let _ = write!(out, " {:.2}", p.get(stage.index()).copied().unwrap_or(0.0));
            }
        }
        None => {
            let _ = write!(out, "**coral** · cell {cell_number} · no stage");
        }
    }
    out.push_str("\n\n");
    if let Some(p) = label.probabilities {
        out.push_str("| ");
        out.push_str(&Stage::ALL.map(Stage::as_str).join(" | "));
        out.push_str(" |\n|");
        out.push_str(&"---:|".repeat(Stage::ALL.len()));
        out.push_str("\n|");
        for (stage, value) in Stage::ALL.iter().zip(p) {
            if Some(*stage) == label.stage {
                let _ = write!(out, " **{value:.2}** |");
            } else {
                let _ = write!(out, " {value:.2} |");
            }
        }
        out.push_str("\n\n");
    } else {
        let why = analysis
            .model
            .fallback_reason
            .as_deref()
            .unwrap_or("the model gave no output for this cell");
        let _ = write!(
            out,
            "No probabilities: the weak-label heuristics labelled this cell ({why}).\n\n"
        );
    }
    match &label.heuristic_rule {
        Some(rule) => {
            let _ = write!(out, "Weak rule: `{rule}`\n\n");
        }
        None if label.lines == 0 => out.push_str("Empty cell: no stage.\n\n"),
        None => out.push_str("Weak rule: none fires\n\n"),
    }
    let summary = &analysis.labels.report.summary;
    let _ = write!(
        out,
        "Pipeline: {}\n\nStage entropy {:.2} (normalized){} · transition rate {:.2}",
        stage_strip(&analysis.labels.cells, label.index),
        summary.normalized_entropy,
        analysis
            .standing
            .as_ref()
            .map(Standing::describe)
            .unwrap_or_default(),
        summary.transition_rate,
    );
    out
}

/// The notebook's stages as the check's one-letter strip (`I W E [E] M V`, `·` for no
/// stage), with the cell at `current` in brackets.
pub fn stage_strip(cells: &[CellLabel], current: usize) -> String {
    if cells.is_empty() {
        return "(no code cells)".to_owned();
    }
    let strip: Vec<String> = cells
        .iter()
        .map(|cell| {
            let letter = crate::report::stage_letter(cell.stage);
            if cell.index == current {
                format!("[{letter}]")
            } else {
                letter.to_string()
            }
        })
        .collect();
    format!(
        "`{}` (I import, W wrangle, E explore, M model, V evaluate)",
        strip.join(" ")
    )
}

/// The 1-based number of a code cell among the notebook's code cells.
pub fn code_cell_number(notebook_cells: &[CellLabel], index: usize) -> usize {
    notebook_cells
        .iter()
        .position(|l| l.index == index)
        .map_or(0, |p| p + 1)
}
