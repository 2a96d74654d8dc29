//! What the stages say about a notebook: stage shares by code lines, stage entropy, transition
//! rate, and findings with stable rule ids.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::stage::{Stage, StageSet};

/// One code cell as the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellStage {
    /// Position in the notebook's cell list.
    pub index: usize,
    pub stage: Option<Stage>,
    /// Code lines (comments and blank lines excluded).
    pub lines: usize,
    pub has_imports: bool,
    /// Stages of the seed functions the cell calls, whatever its label: a findings rule that
    /// claims a stage is absent (CRL002, CRL003) stays quiet when a cell calls, say,
    /// `sklearn.metrics.silhouette_score` under another label.
    pub called_stages: StageSet,
}

/// Stage shares, entropy and transition rate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PipelineSummary {
    /// Share of labelled code lines per stage (all five stages present, summing to 1 or all 0).
    pub stage_shares: BTreeMap<Stage, f64>,
    /// `H = -Σ p ln p` over the stage shares.
    pub entropy: f64,
    /// `H / ln 5`, in [0, 1].
    pub normalized_entropy: f64,
    /// Fraction of labelled code cells followed by a labelled cell of another stage.
    pub transition_rate: f64,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// The rules a notebook is checked against. Codes are stable: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    LowEntropy,
    ModelWithoutEvaluate,
    EvaluateWithoutModel,
    ScatteredImports,
    EmptyPipeline,
    MissingStage,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::LowEntropy,
        Rule::ModelWithoutEvaluate,
        Rule::EvaluateWithoutModel,
        Rule::ScatteredImports,
        Rule::EmptyPipeline,
        Rule::MissingStage,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Rule::LowEntropy => "CRL001",
            Rule::ModelWithoutEvaluate => "CRL002",
            Rule::EvaluateWithoutModel => "CRL003",
            Rule::ScatteredImports => "CRL004",
            Rule::EmptyPipeline => "CRL005",
            Rule::MissingStage => "CRL006",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Rule::LowEntropy => "low-entropy",
            Rule::ModelWithoutEvaluate => "model-without-evaluate",
            Rule::EvaluateWithoutModel => "evaluate-without-model",
            Rule::ScatteredImports => "scattered-imports",
            Rule::EmptyPipeline => "empty-pipeline",
            Rule::MissingStage => "missing-stage",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::ScatteredImports => Severity::Info,
            Rule::MissingStage => Severity::Error,
            _ => Severity::Warning,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Rule::LowEntropy => "The notebook's code is concentrated in few stages (normalized stage entropy below the threshold).",
            Rule::ModelWithoutEvaluate => "The notebook fits a model but never evaluates it.",
            Rule::EvaluateWithoutModel => "The notebook evaluates results but defines no model.",
            Rule::ScatteredImports => "Imports appear after the analysis has begun; gather them at the top.",
            Rule::EmptyPipeline => "No code cell could be assigned a stage.",
            Rule::MissingStage => "A stage the configuration requires is absent from the notebook.",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// Error for a string that names no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rule `{0}` (expected a code such as CRL001 or a name such as low-entropy)")]
pub struct UnknownRule(pub String);

impl FromStr for Rule {
    type Err = UnknownRule;

    /// Accepts a code (`CRL001`) or a name (`low-entropy`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Rule::ALL
            .into_iter()
            .find(|r| {
                r.code().eq_ignore_ascii_case(wanted) || r.name().eq_ignore_ascii_case(wanted)
            })
            .ok_or_else(|| UnknownRule(s.to_owned()))
    }
}

/// One problem with a notebook's pipeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
    /// The most relevant cell (index in the notebook's cell list), if one is.
    pub cell: Option<usize>,
}

/// Thresholds for the findings, and which rules report. [`check`] applies all of it, so every
/// surface (`--check`, the language server, the Python package) reports the same findings.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingsConfig {
    /// Normalized entropy below this is [`Rule::LowEntropy`].
    pub min_normalized_entropy: f64,
    /// Stages that must appear ([`Rule::MissingStage`]).
    pub required_stages: Vec<Stage>,
    /// Only these rules report; empty means every rule (as an absent `--select` does).
    pub select: Vec<Rule>,
    /// These rules never report; `ignore` wins over `select`.
    pub ignore: Vec<Rule>,
}

impl Default for FindingsConfig {
    fn default() -> Self {
        FindingsConfig {
            min_normalized_entropy: 0.35,
            required_stages: Vec::new(),
            select: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

impl FindingsConfig {
    /// Whether findings of `rule` are reported.
    pub fn reports(&self, rule: Rule) -> bool {
        (self.select.is_empty() || self.select.contains(&rule)) && !self.ignore.contains(&rule)
    }
}

/// Summary and findings of one notebook.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PipelineReport {
    pub summary: PipelineSummary,
    pub findings: Vec<Finding>,
}

pub fn summarize(cells: &[CellStage]) -> PipelineSummary {
    let mut lines: BTreeMap<Stage, usize> = Stage::ALL.iter().map(|&s| (s, 0)).collect();
    for cell in cells {
        if let Some(stage) = cell.stage {
            *lines.entry(stage).or_default() += cell.lines.max(1);
        }
    }
    let total: usize = lines.values().sum();
    let stage_shares: BTreeMap<Stage, f64> = lines
        .iter()
        .map(|(&stage, &n)| {
            (
                stage,
                if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                },
            )
        })
        .collect();
    // `abs`: a one-stage notebook sums to -0.0, which would print as "-0.00".
    let entropy: f64 = stage_shares
        .values()
        .filter(|&&p| p > 0.0)
        .map(|&p| -p * p.ln())
        .sum::<f64>()
        .abs();
    let labelled: Vec<Stage> = cells.iter().filter_map(|c| c.stage).collect();
    let transitions = labelled.windows(2).filter(|w| w[0] != w[1]).count();
    let transition_rate = if labelled.len() < 2 {
        0.0
    } else {
        transitions as f64 / (labelled.len() - 1) as f64
    };
    PipelineSummary {
        stage_shares,
        entropy,
        normalized_entropy: entropy / (Stage::ALL.len() as f64).ln(),
        transition_rate,
    }
}

/// Summary and findings, in rule order.
pub fn check(cells: &[CellStage], config: &FindingsConfig) -> PipelineReport {
    let summary = summarize(cells);
    let mut findings = Vec::new();
    let mut add = |rule: Rule, message: String, cell: Option<usize>| {
        findings.push(Finding {
            rule,
            severity: rule.severity(),
            message,
            cell,
        });
    };
    let first = |stage: Stage| {
        cells
            .iter()
            .find(|c| c.stage == Some(stage))
            .map(|c| c.index)
    };
    let last = |stage: Stage| {
        cells
            .iter()
            .rev()
            .find(|c| c.stage == Some(stage))
            .map(|c| c.index)
    };
    let labelled = cells.iter().filter(|c| c.stage.is_some()).count();
    // Labelled so, or calling a seed function of that stage.
    let evidence = |stage: Stage| {
        first(stage).or_else(|| {
            cells
                .iter()
                .find(|c| c.called_stages.contains(stage))
                .map(|c| c.index)
        })
    };

    if labelled == 0 {
        add(
            Rule::EmptyPipeline,
            "no code cell could be assigned a stage".to_owned(),
            None,
        );
    } else {
        if summary.normalized_entropy < config.min_normalized_entropy {
            let dominant = summary
                .stage_shares
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(Stage::Explore, |(s, _)| *s);
            add(
                Rule::LowEntropy,
                format!(
                    "stage entropy {:.2} is below {:.2}: {:.0}% of the code is {}",
                    summary.normalized_entropy,
                    config.min_normalized_entropy,
                    summary.stage_shares.get(&dominant).copied().unwrap_or(0.0) * 100.0,
                    dominant
                ),
                first(dominant),
            );
        }
        if let (Some(model), None) = (last(Stage::Model), evidence(Stage::Evaluate)) {
            add(
                Rule::ModelWithoutEvaluate,
                "a model is fitted but never evaluated".to_owned(),
                Some(model),
            );
        }
        if let (None, Some(evaluate)) = (evidence(Stage::Model), first(Stage::Evaluate)) {
            add(
                Rule::EvaluateWithoutModel,
                "results are evaluated but no model is defined".to_owned(),
                Some(evaluate),
            );
        }
        let analysis_start = cells
            .iter()
            .position(|c| matches!(c.stage, Some(s) if s != Stage::Import));
        if let Some(start) = analysis_start {
            let late: Vec<usize> = cells[start + 1..]
                .iter()
                .filter(|c| c.has_imports)
                .map(|c| c.index)
                .collect();
            if let Some(&first_late) = late.first() {
                let begun = cells[start].index;
                let message = if late.len() == 1 {
                    format!("cell {first_late} imports after the analysis began (cell {begun})")
                } else {
                    format!("{} cells import after the analysis began (cell {begun}), first cell {first_late}", late.len())
                };
                add(Rule::ScatteredImports, message, Some(first_late));
            }
        }
    }
    for &stage in &config.required_stages {
        if first(stage).is_none() {
            add(
                Rule::MissingStage,
                format!("required stage {stage} is missing"),
                None,
            );
        }
    }
    findings.retain(|f| config.reports(f.rule));
    PipelineReport { summary, findings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(index: usize, stage: Option<Stage>, lines: usize, has_imports: bool) -> CellStage {
        CellStage {
            index,
            stage,
            lines,
            has_imports,
            called_stages: StageSet::EMPTY,
        }
    }

    fn calling(mut cell: CellStage, stage: Stage) -> CellStage {
        cell.called_stages.insert(stage);
        cell
    }

    fn rules(cells: &[CellStage]) -> Vec<Rule> {
        check(cells, &FindingsConfig::default())
            .findings
            .iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn a_called_metric_counts_as_evaluation_and_a_called_estimator_as_a_model() {
        let (i, m, e, w) = (
            Some(Stage::Import),
            Some(Stage::Model),
            Some(Stage::Explore),
            Some(Stage::Wrangle),
        );
        let model_then_plot = [
            cell(0, i, 1, true),
            cell(1, m, 3, false),
            cell(2, e, 2, false),
        ];
        assert!(rules(&model_then_plot).contains(&Rule::ModelWithoutEvaluate));
        // The last cell is labelled WRANGLE but calls an evaluation seed.
        let scored = [
            cell(0, i, 1, true),
            cell(1, m, 3, false),
            calling(cell(2, w, 2, false), Stage::Evaluate),
        ];
        assert!(!rules(&scored).contains(&Rule::ModelWithoutEvaluate));
        let evaluated_only = [
            cell(0, i, 1, true),
            cell(1, Some(Stage::Evaluate), 2, false),
        ];
        assert!(rules(&evaluated_only).contains(&Rule::EvaluateWithoutModel));
        let fitted_under_wrangle = [
            cell(0, i, 1, true),
            calling(cell(1, w, 2, false), Stage::Model),
            cell(2, Some(Stage::Evaluate), 2, false),
        ];
        assert!(!rules(&fitted_under_wrangle).contains(&Rule::EvaluateWithoutModel));
    }

    #[test]
    fn entropy_shares_and_transitions_by_hand() {
        // lines: IMPORT 2, WRANGLE 2, EXPLORE 4 → p = .25 .25 .5
        let cells = [
            cell(0, Some(Stage::Import), 2, true),
            cell(2, Some(Stage::Wrangle), 2, false),
            cell(3, None, 5, false),
            cell(4, Some(Stage::Explore), 3, false),
            cell(5, Some(Stage::Explore), 1, false),
        ];
        let s = summarize(&cells);
        assert!((s.stage_shares[&Stage::Explore] - 0.5).abs() < 1e-12);
        let h = -(0.25f64 * 0.25f64.ln()) * 2.0 - 0.5 * 0.5f64.ln();
        assert!((s.entropy - h).abs() < 1e-12);
        assert!((s.normalized_entropy - h / 5f64.ln()).abs() < 1e-12);
        // I→W change, W→E change, E→E same: 2 of 3
        assert!((s.transition_rate - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn select_and_ignore_filter_the_findings() {
        // A one-stage notebook with a late import: CRL001 and CRL004, and CRL006 when required.
        let cells = [
            cell(0, Some(Stage::Explore), 3, false),
            cell(1, Some(Stage::Explore), 2, true),
        ];
        let with = |select: &[Rule], ignore: &[Rule]| -> Vec<Rule> {
            let config = FindingsConfig {
                required_stages: vec![Stage::Model],
                select: select.to_vec(),
                ignore: ignore.to_vec(),
                ..FindingsConfig::default()
            };
            check(&cells, &config)
                .findings
                .iter()
                .map(|f| f.rule)
                .collect()
        };
        let all = [Rule::LowEntropy, Rule::ScatteredImports, Rule::MissingStage];
        assert_eq!(with(&[], &[]), all, "an empty select is every rule");
        assert_eq!(with(&[Rule::MissingStage], &[]), [Rule::MissingStage]);
        assert_eq!(
            with(&[], &[Rule::LowEntropy]),
            [Rule::ScatteredImports, Rule::MissingStage]
        );
        assert_eq!(
            with(&[Rule::LowEntropy], &[Rule::LowEntropy]),
            [],
            "ignore wins over select"
        );
    }

    #[test]
    fn rule_codes_parse_by_code_or_name() {
        assert_eq!("crl002".parse::<Rule>(), Ok(Rule::ModelWithoutEvaluate));
        assert_eq!(
            "scattered-imports".parse::<Rule>(),
            Ok(Rule::ScatteredImports)
        );
        assert!("nope".parse::<Rule>().is_err());
    }
}
