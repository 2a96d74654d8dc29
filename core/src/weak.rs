//! Weak supervision (paper §IV-C): five heuristics over a cell, resolved by stage priority
//! IMPORT > MODEL > EVALUATE > EXPLORE > WRANGLE. Cells no rule covers get no label.

use std::collections::BTreeMap;

use crate::fxhash::FxHashMap as HashMap;
use std::fmt;

use serde::Deserialize;

use crate::dataflow::{CellFlow, KindSet, ValueKind};
use crate::stage::{Stage, StageSet};
use crate::syntax::CellSyntax;

/// Share of a cell's syntax nodes that must be import statements for the import rule.
pub const IMPORT_SHARE_THRESHOLD: f64 = 0.3;
/// Markdown rules apply only to markdown of at most this many words.
pub const MARKDOWN_MAX_WORDS: usize = 3;

const PAPER_SEEDS: &str = include_str!("../data/seeds.toml");
const DOCS_SEEDS: &str = include_str!("../data/seeds-docs.toml");

/// Which heuristic produced a weak label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WeakRule {
    /// More than 30 % of the cell's syntax nodes are import statements.
    ImportShare,
    /// The cell calls this seed function.
    Seed(String),
    /// One line of code, a single expression that assigns nothing.
    OneLineExpression,
    /// Short markdown context containing this phrase.
    Markdown(String),
    /// A data-flow rule: what the cell does with the notebook's typed values.
    Flow(FlowRule),
}

/// The weak rules that read the data-flow pass ([`crate::dataflow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowRule {
    /// Fits or compiles a model (rubric: "`fit`, training loops, compiling a Keras model").
    Fit,
    /// Binds a newly constructed model (rubric: "constructing estimators / networks").
    ConstructModel,
    /// Shows, prints or plots predictions, scores, a history or a fitted model's attributes
    /// (rubric: "inspecting a fitted model's coefficients or predictions", "learning curves").
    ShowEvaluation,
    /// Shows data and binds nothing for later cells but figures (rubric: "displaying a
    /// `DataFrame` or variable").
    ShowData,
    /// Only transforms data for later cells: binds or changes data, shows nothing.
    Transform,
    /// Every statement sets up the environment (rubric: "plotting style / `rcParams` /
    /// `pd.set_option`, `warnings.filterwarnings`, random seeds, defining constants and paths").
    Setup,
}

impl FlowRule {
    pub const ALL: [FlowRule; 6] = [
        FlowRule::Fit,
        FlowRule::ConstructModel,
        FlowRule::ShowEvaluation,
        FlowRule::ShowData,
        FlowRule::Transform,
        FlowRule::Setup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlowRule::Fit => "flow:fit",
            FlowRule::ConstructModel => "flow:construct-model",
            FlowRule::ShowEvaluation => "flow:show-evaluation",
            FlowRule::ShowData => "flow:show-data",
            FlowRule::Transform => "flow:transform",
            FlowRule::Setup => "flow:setup",
        }
    }

    pub fn stage(self) -> Stage {
        match self {
            FlowRule::Fit | FlowRule::ConstructModel => Stage::Model,
            FlowRule::ShowEvaluation => Stage::Evaluate,
            FlowRule::ShowData => Stage::Explore,
            FlowRule::Transform => Stage::Wrangle,
            FlowRule::Setup => Stage::Import,
        }
    }

    /// Whether this rule fires on a cell with this flow.
    pub fn fires(self, flow: &CellFlow) -> bool {
        let evaluation = KindSet::EVALUATION;
        let for_later = KindSet::of(&[ValueKind::Data, ValueKind::Transformer]);
        let not_data = KindSet::of(&[
            ValueKind::Model,
            ValueKind::Fitted,
            ValueKind::Predictions,
            ValueKind::Score,
            ValueKind::History,
        ]);
        let looked_at = KindSet::of(&[ValueKind::Data, ValueKind::Figure]);
        match self {
            FlowRule::Fit => flow.fits,
            FlowRule::ConstructModel => flow.bound.contains(ValueKind::Model),
            FlowRule::ShowEvaluation => flow.shown.intersects(evaluation),
            FlowRule::ShowData => {
                flow.displays
                    && flow.shown.contains(ValueKind::Data)
                    && flow.shown.is_subset(looked_at)
                    && flow.bound.is_subset(KindSet::of(&[ValueKind::Figure]))
                    && !flow.mutates_data
            }
            FlowRule::Transform => {
                !flow.displays
                    && !flow.fits
                    && (flow.mutates_data || flow.bound.intersects(for_later))
                    && !flow.bound.intersects(not_data)
            }
            FlowRule::Setup => flow.setup_only,
        }
    }
}

impl fmt::Display for WeakRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeakRule::ImportShare => f.write_str("import-share"),
            WeakRule::Seed(name) => write!(f, "seed:{name}"),
            WeakRule::OneLineExpression => f.write_str("one-line-expression"),
            WeakRule::Markdown(phrase) => write!(f, "markdown:{phrase}"),
            WeakRule::Flow(rule) => f.write_str(rule.as_str()),
        }
    }
}

impl serde::Serialize for WeakRule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A weak label and the rule that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct WeakLabel {
    pub stage: Stage,
    pub rule: WeakRule,
}

/// Why a seed file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("invalid seed table: {0}")]
    Toml(String),
    #[error("invalid seed table: unknown stage `{0}`")]
    UnknownStage(String),
}

#[derive(Deserialize)]
struct SeedFile {
    #[serde(default)]
    seeds: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    markdown: BTreeMap<String, Vec<String>>,
}

/// Seed functions and markdown phrases, by stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedTable {
    functions: HashMap<String, Stage>,
    phrases: Vec<(String, Stage)>,
    /// Whether the data-flow rules (`flow:*`) take part; off for the paper's heuristics.
    flow_rules: bool,
}

impl SeedTable {
    /// The table compiled into coral: the paper's seeds (`core/data/seeds.toml`) extended by
    /// seeds taken from library documentation (`core/data/seeds-docs.toml`).
    pub fn builtin() -> SeedTable {
        let mut table = Self::parse_builtin(PAPER_SEEDS);
        table.extend(Self::parse_builtin(DOCS_SEEDS));
        table
    }

    /// The paper's seed table alone (Table V plus the reference implementation's three), for
    /// the ablation that trains without the documentation seeds.
    pub fn paper() -> SeedTable {
        Self::parse_builtin(PAPER_SEEDS).without_flow_rules()
    }

    /// The same seeds without the data-flow rules (the heuristics before the data-flow pass),
    /// for ablations.
    #[must_use]
    pub fn without_flow_rules(mut self) -> SeedTable {
        self.flow_rules = false;
        self
    }

    fn parse_builtin(text: &str) -> SeedTable {
        // The builtin files are tested to parse; an empty table is the impossible fallback.
        SeedTable::from_toml(text).unwrap_or_else(|_| SeedTable {
            functions: HashMap::default(),
            phrases: Vec::new(),
            flow_rules: true,
        })
    }

    pub fn from_toml(text: &str) -> Result<SeedTable, SeedError> {
        let file: SeedFile = toml::from_str(text).map_err(|e| SeedError::Toml(e.to_string()))?;
        let mut table = SeedTable {
            functions: HashMap::default(),
            phrases: Vec::new(),
            flow_rules: true,
        };
        for (stage, names) in file.seeds {
            let stage: Stage = stage
                .parse()
                .map_err(|_| SeedError::UnknownStage(stage.clone()))?;
            for name in names {
                table.functions.insert(name, stage);
            }
        }
        for (stage, phrases) in file.markdown {
            let stage: Stage = stage
                .parse()
                .map_err(|_| SeedError::UnknownStage(stage.clone()))?;
            for phrase in phrases {
                table.phrases.push((phrase.to_lowercase(), stage));
            }
        }
        Ok(table)
    }

    /// Adds (or overrides) the entries of `other`.
    pub fn extend(&mut self, other: SeedTable) {
        self.functions.extend(other.functions);
        for (phrase, stage) in other.phrases {
            self.phrases.retain(|(p, _)| *p != phrase);
            self.phrases.push((phrase, stage));
        }
    }

    pub fn seed_stage(&self, qualified_name: &str) -> Option<Stage> {
        self.functions.get(qualified_name).copied()
    }

    pub fn len(&self) -> usize {
        self.functions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
    }

    /// All seed functions, sorted, with their stages.
    pub fn functions(&self) -> Vec<(&str, Stage)> {
        let mut all: Vec<_> = self
            .functions
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        all.sort_unstable();
        all
    }

    /// Applies the five heuristics to one analysed cell: the winning label, if a rule fires, and
    /// the stages of every seed function the cell calls, whichever label won.
    pub fn label(
        &self,
        syntax: &CellSyntax,
        code_lines: usize,
        markdown: Option<&str>,
    ) -> (Option<WeakLabel>, StageSet) {
        let mut called = StageSet::EMPTY;
        let mut best: Option<WeakLabel> = None;
        let mut offer = |candidate: WeakLabel| {
            if best
                .as_ref()
                .is_none_or(|b| candidate.stage.priority() < b.stage.priority())
            {
                best = Some(candidate);
            }
        };
        if syntax.total_nodes > 0
            && syntax.import_nodes as f64 / syntax.total_nodes as f64 > IMPORT_SHARE_THRESHOLD
        {
            offer(WeakLabel {
                stage: Stage::Import,
                rule: WeakRule::ImportShare,
            });
        }
        for call in &syntax.calls {
            if let Some(stage) = self.seed_stage(call) {
                called.insert(stage);
                offer(WeakLabel {
                    stage,
                    rule: WeakRule::Seed(call.clone()),
                });
            }
        }
        let flow_rules = if self.flow_rules {
            FlowRule::ALL.as_slice()
        } else {
            &[]
        };
        for &rule in flow_rules.iter().filter(|r| r.fires(&syntax.flow)) {
            offer(WeakLabel {
                stage: rule.stage(),
                rule: WeakRule::Flow(rule),
            });
        }
        // With data flow, a one-line expression shows its value only when it has one we can
        // name: `df.head()`, `df.shape`, `acc`; not `df.to_csv(path)` or a helper call of
        // unknown result. The paper's rule (no data flow) takes every one-line expression.
        if code_lines == 1 && syntax.single_expression && (!self.flow_rules || syntax.flow.displays)
        {
            offer(WeakLabel {
                stage: Stage::Explore,
                rule: WeakRule::OneLineExpression,
            });
        }
        if let Some(markdown) = markdown {
            let words: Vec<String> = markdown
                .split_whitespace()
                .map(|w| {
                    w.trim_matches(|c: char| !c.is_alphanumeric())
                        .to_lowercase()
                })
                .filter(|w| !w.is_empty())
                .collect();
            if !words.is_empty() && words.len() <= MARKDOWN_MAX_WORDS {
                let joined = words.join(" ");
                for (phrase, stage) in &self.phrases {
                    if joined.contains(phrase.as_str()) {
                        offer(WeakLabel {
                            stage: *stage,
                            rule: WeakRule::Markdown(phrase.clone()),
                        });
                    }
                }
            }
        }
        (best, called)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::Scope;
    use crate::syntax::analyze;

    fn label(code: &str, markdown: Option<&str>) -> Option<(Stage, String)> {
        let mut scope = Scope::new();
        let syntax = analyze(code, &mut scope);
        let lines = crate::notebook::Cell::code(code).code_lines();
        SeedTable::builtin()
            .label(&syntax, lines, markdown)
            .0
            .map(|l| (l.stage, l.rule.to_string()))
    }

    #[test]
    fn builtin_table_has_paper_seeds_and_extras() {
        let table = SeedTable::from_toml(PAPER_SEEDS).expect("paper seeds parse");
        assert_eq!(table.len(), 39);
        assert_eq!(SeedTable::paper(), table.clone().without_flow_rules());
        let docs = SeedTable::from_toml(DOCS_SEEDS).expect("documentation seeds parse");
        let builtin = SeedTable::builtin();
        assert_eq!(builtin.len(), table.len() + docs.len());
        assert_eq!(
            builtin.seed_stage("sklearn.metrics.classification_report"),
            Some(Stage::Evaluate)
        );
        assert_eq!(
            table.seed_stage("sklearn.metrics.classification_report"),
            None
        );
        assert_eq!(
            table.seed_stage("sklearn.cluster.KMeans"),
            Some(Stage::Model)
        );
        assert_eq!(table.seed_stage("pandas.read_csv"), Some(Stage::Wrangle));
    }

    #[test]
    fn rules_and_priority() {
        assert_eq!(
            label("import pandas as pd\nimport numpy as np", None),
            Some((Stage::Import, "import-share".into()))
        );
        assert_eq!(
            label("df.shape", None),
            Some((Stage::Explore, "one-line-expression".into()))
        );
        // A call of unknown result may show nothing (`save(df)`): no one-line label.
        assert_eq!(label("save(results)", None), None);
        assert_eq!(
            label("x = 1", None),
            Some((Stage::Import, "flow:setup".into()))
        );
        assert_eq!(
            label(
                "from sklearn.svm import SVC\nclf = SVC()\nclf.fit(X_train, y_train)\nplt.show()",
                None
            ),
            Some((Stage::Model, "seed:sklearn.svm.SVC".into()))
        );
        assert_eq!(
            label("scores = run(model)", Some("## Random forest")),
            Some((Stage::Model, "markdown:random forest".into()))
        );
        assert_eq!(
            label(
                "s = run(model)\nprint(s)",
                Some("We now run cross validation on all folds")
            ),
            None
        );
        assert_eq!(
            label("s = run(model)\nprint(s)", Some("Cross-validation")),
            None
        );
        assert_eq!(
            label("s = run(model)\nprint(s)", Some("### Cross validation")),
            Some((Stage::Evaluate, "markdown:cross validation".into()))
        );
    }

    #[test]
    fn user_table_extends_and_overrides() {
        let mut table = SeedTable::builtin();
        let user = SeedTable::from_toml(
            "[seeds]\nEXPLORE = [\"pandas.read_csv\", \"plotly.express.scatter\"]",
        )
        .expect("valid");
        table.extend(user);
        assert_eq!(table.seed_stage("pandas.read_csv"), Some(Stage::Explore));
        assert_eq!(
            table.seed_stage("plotly.express.scatter"),
            Some(Stage::Explore)
        );
        assert!(matches!(
            SeedTable::from_toml("[seeds]\nCLEAN = [\"x\"]"),
            Err(SeedError::UnknownStage(_))
        ));
        assert!(matches!(
            SeedTable::from_toml("[seeds"),
            Err(SeedError::Toml(_))
        ));
    }
}
