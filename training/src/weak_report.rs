//! `coral-train weak-report`: how much of the corpus each weak rule labels, and how often it
//! agrees with the expert labels where it decides. Checking only: the rules were written from
//! library documentation and the rubric, and this report never feeds back into them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use coral_core::{CellFeatures, Stage, WeakRule};
use serde::Serialize;

/// The family a rule belongs to in the report: seeds and markdown phrases are grouped by stage.
pub fn rule_family(rule: &WeakRule, stage: Stage) -> String {
    match rule {
        WeakRule::Seed(_) => format!("seed:{stage}"),
        WeakRule::Markdown(_) => format!("markdown:{stage}"),
        other => other.to_string(),
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct RuleRow {
    pub stage: Option<Stage>,
    /// Corpus cells whose label this rule decided.
    pub corpus_cells: usize,
    /// Dev cells whose label this rule decided, and how many of those it got right.
    pub dev_cells: usize,
    pub dev_correct: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct WeakReport {
    pub corpus_cells: usize,
    pub corpus_labelled: usize,
    pub dev_cells: usize,
    pub dev_labelled: usize,
    pub dev_correct: usize,
    pub rules: BTreeMap<String, RuleRow>,
    /// Weak labels of the corpus, by stage.
    pub corpus_stages: BTreeMap<Stage, usize>,
    /// `confusion[truth][weak]` on dev; the sixth column counts cells no rule labelled.
    pub dev_confusion: Vec<Vec<usize>>,
}

impl WeakReport {
    /// `corpus`: every non-empty code cell of the corpus; `dev`: expert-labelled cells.
    pub fn build<'a>(
        corpus: impl IntoIterator<Item = &'a CellFeatures>,
        dev: &[(Stage, &CellFeatures)],
    ) -> WeakReport {
        let mut report = WeakReport {
            dev_confusion: vec![vec![0; 6]; 5],
            ..WeakReport::default()
        };
        for cell in corpus.into_iter().filter(|c| !c.is_empty) {
            report.corpus_cells += 1;
            let Some(label) = &cell.weak_label else {
                continue;
            };
            report.corpus_labelled += 1;
            *report.corpus_stages.entry(label.stage).or_default() += 1;
            let row = report
                .rules
                .entry(rule_family(&label.rule, label.stage))
                .or_default();
            row.stage = Some(label.stage);
            row.corpus_cells += 1;
        }
        for &(truth, cell) in dev {
            report.dev_cells += 1;
            let Some(label) = &cell.weak_label else {
                report.dev_confusion[truth.index()][5] += 1;
                continue;
            };
            report.dev_confusion[truth.index()][label.stage.index()] += 1;
            report.dev_labelled += 1;
            let correct = label.stage == truth;
            report.dev_correct += usize::from(correct);
            let row = report
                .rules
                .entry(rule_family(&label.rule, label.stage))
                .or_default();
            row.stage = Some(label.stage);
            row.dev_cells += 1;
            row.dev_correct += usize::from(correct);
        }
        report
    }

    pub fn render(&self) -> String {
        let pct = |a: usize, b: usize| {
            if b == 0 {
                "–".to_owned()
            } else {
                format!("{:.1}%", 100.0 * a as f64 / b as f64)
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "weak labels: {} of {} corpus cells ({}); dev precision {} on {} of {} cells ({})\n",
            self.corpus_labelled,
            self.corpus_cells,
            pct(self.corpus_labelled, self.corpus_cells),
            pct(self.dev_correct, self.dev_labelled),
            self.dev_labelled,
            self.dev_cells,
            pct(self.dev_labelled, self.dev_cells),
        );
        let _ = writeln!(
            out,
            "{:<24} {:<9} {:>9} {:>8} {:>6} {:>9}",
            "rule (decides)", "stage", "corpus", "share", "dev", "precision"
        );
        let mut rows: Vec<_> = self.rules.iter().collect();
        rows.sort_by(|a, b| b.1.corpus_cells.cmp(&a.1.corpus_cells));
        for (name, row) in rows {
            let _ = writeln!(
                out,
                "{:<24} {:<9} {:>9} {:>8} {:>6} {:>9}",
                name,
                row.stage.map_or("", Stage::as_str),
                row.corpus_cells,
                pct(row.corpus_cells, self.corpus_cells),
                row.dev_cells,
                pct(row.dev_correct, row.dev_cells),
            );
        }
        let _ = writeln!(out, "\nby stage (share of weak labels; dev precision)");
        for stage in Stage::ALL {
            let n = self.corpus_stages.get(&stage).copied().unwrap_or(0);
            let labelled: usize = (0..5).map(|t| self.dev_confusion[t][stage.index()]).sum();
            let correct = self.dev_confusion[stage.index()][stage.index()];
            let _ = writeln!(
                out,
                "  {:<9} {:>8} {:>7}   precision {:>6} of {}",
                stage.as_str(),
                n,
                pct(n, self.corpus_labelled),
                pct(correct, labelled),
                labelled
            );
        }
        let _ = writeln!(
            out,
            "\ndev confusion (rows truth, columns weak label; · = no rule)\n{:<10}{:>6}{:>6}{:>6}{:>6}{:>6}{:>6}",
            "", "I", "W", "E", "M", "V", "·"
        );
        for stage in Stage::ALL {
            let _ = write!(out, "{:<10}", stage.as_str());
            for n in &self.dev_confusion[stage.index()] {
                let _ = write!(out, "{n:>6}");
            }
            out.push('\n');
        }
        out
    }
}
