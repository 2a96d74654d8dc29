//! Notebook data flow: what kind of value each name holds (a frame, a model, a score, …),
//! carried from cell to cell in notebook order through the [`Scope`], and what a cell does with
//! those values (fits a model, shows a score, only transforms data).
//!
//! The kinds come from a table (`core/data/kinds.toml`) of what library callables return, as
//! their API references say. A cell's kinds depend only on its own text and the scope the cells
//! before it left, so an edit to a cell re-types only the cells after it.
//!
//! The pass is iterative over the tree (an explicit stack); expression typing recurses at most
//! [`MAX_CHAIN`] levels, so nesting depth cannot overflow the stack.

use crate::fxhash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cell::RefCell;
use std::fmt;
use std::num::NonZeroU16;
use std::sync::OnceLock;

use serde::Deserialize;
use tree_sitter::Node;

use crate::scope::{Scope, MAX_CHAIN};
use crate::syntax::qualify;
use crate::ts;

const KINDS_TOML: &str = include_str!("../data/kinds.toml");

/// The kind of value a name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// Frames, arrays, tensors, loaded datasets.
    Data,
    /// An estimator or network, constructed or fitted in place.
    Model,
    /// A preprocessing object (scaler, encoder, vectorizer).
    Transformer,
    /// What fitting returned (a statsmodels results object, a fitted estimator).
    Fitted,
    /// A model's outputs on data.
    Predictions,
    /// A metric, test statistic or a fitted model's reported attribute.
    Score,
    /// A training history (Keras `History`).
    History,
    /// A figure or axes.
    Figure,
}

impl ValueKind {
    pub const ALL: [ValueKind; 8] = [
        ValueKind::Data,
        ValueKind::Model,
        ValueKind::Transformer,
        ValueKind::Fitted,
        ValueKind::Predictions,
        ValueKind::Score,
        ValueKind::History,
        ValueKind::Figure,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Data => "data",
            ValueKind::Model => "model",
            ValueKind::Transformer => "transformer",
            ValueKind::Fitted => "fitted",
            ValueKind::Predictions => "predictions",
            ValueKind::Score => "score",
            ValueKind::History => "history",
            ValueKind::Figure => "figure",
        }
    }

    /// The token the featurizer adds to a node whose identifier holds this kind.
    pub fn token(self) -> &'static str {
        match self {
            ValueKind::Data => "~data",
            ValueKind::Model => "~model",
            ValueKind::Transformer => "~transformer",
            ValueKind::Fitted => "~fitted",
            ValueKind::Predictions => "~predictions",
            ValueKind::Score => "~score",
            ValueKind::History => "~history",
            ValueKind::Figure => "~figure",
        }
    }

    fn parse(text: &str) -> Option<ValueKind> {
        ValueKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Kinds that flow through arithmetic and generic functions, strongest first
    /// (`(y_pred == y).mean()` is still about predictions; `np.mean(scores)` still a score).
    const PROPAGATING: [ValueKind; 4] = [
        ValueKind::Score,
        ValueKind::Predictions,
        ValueKind::History,
        ValueKind::Data,
    ];
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of kinds, a bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct KindSet(u8);

impl KindSet {
    pub const EMPTY: KindSet = KindSet(0);
    /// What a model's evaluation is made of.
    pub const EVALUATION: KindSet = KindSet(
        (1 << ValueKind::Predictions as u8)
            | (1 << ValueKind::Score as u8)
            | (1 << ValueKind::History as u8),
    );

    pub fn of(kinds: &[ValueKind]) -> KindSet {
        let mut set = KindSet::EMPTY;
        for &kind in kinds {
            set.insert(kind);
        }
        set
    }

    pub fn insert(&mut self, kind: ValueKind) {
        self.0 |= kind.bit();
    }

    pub fn contains(self, kind: ValueKind) -> bool {
        self.0 & kind.bit() != 0
    }

    #[must_use]
    pub fn union(self, other: KindSet) -> KindSet {
        KindSet(self.0 | other.0)
    }

    pub fn intersects(self, other: KindSet) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_subset(self, other: KindSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = ValueKind> {
        ValueKind::ALL
            .into_iter()
            .filter(move |&k| self.contains(k))
    }

    /// The strongest propagating kind in the set.
    fn strongest(self) -> Option<ValueKind> {
        ValueKind::PROPAGATING
            .into_iter()
            .find(|&k| self.contains(k))
    }
}

impl serde::Serialize for KindSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(ValueKind::as_str))
    }
}

/// What one cell does with the notebook's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[allow(clippy::struct_excessive_bools)] // independent facts the weak rules combine
pub struct CellFlow {
    /// The cell fits (or compiles) a model.
    pub fits: bool,
    /// The cell shows something: its last statement is an expression, or it prints or plots.
    pub displays: bool,
    /// Kinds of the values it shows, prints or plots.
    pub shown: KindSet,
    /// Kinds of the names it binds (outside function and class bodies).
    pub bound: KindSet,
    /// It binds a name of no known kind.
    pub binds_untyped: bool,
    /// It changes data in place (`df['x'] = …`, `df.columns = …`, `inplace=True`).
    pub mutates_data: bool,
    /// Every statement sets up the environment: imports, constants and paths, configuration
    /// calls (`warnings.filterwarnings`, `pd.set_option`, seeds) and settings
    /// (`plt.rcParams[...] = …`).
    pub setup_only: bool,
    /// Kinds of the names it reads.
    pub read: KindSet,
}

#[derive(Deserialize)]
struct KindsFile {
    calls: HashMap<String, Vec<String>>,
    methods: HashMap<String, HashMap<String, String>>,
    fitting: FittingSection,
    attributes: AttributesSection,
    display: DisplaySection,
    setup: SetupSection,
}

#[derive(Deserialize)]
struct SetupSection {
    calls: Vec<String>,
}

#[derive(Deserialize)]
struct FittingSection {
    methods: Vec<String>,
    history_libraries: Vec<String>,
}

#[derive(Deserialize)]
struct AttributesSection {
    fitted: Vec<String>,
}

#[derive(Deserialize)]
struct DisplaySection {
    functions: Vec<String>,
    plot_modules: Vec<String>,
    plot_methods: Vec<String>,
}

/// The kinds table, parsed once from `core/data/kinds.toml`.
#[derive(Debug, Default)]
pub struct KindTable {
    exact: HashMap<String, ValueKind>,
    /// Module prefixes (ending in `.`) and name prefixes, longest first.
    prefixes: Vec<(String, ValueKind)>,
    methods: HashMap<(ValueKind, String), ValueKind>,
    any_method: HashMap<ValueKind, ValueKind>,
    /// Methods documented to return nothing (`DataFrame.to_csv` with a path).
    returns_nothing: HashSet<(ValueKind, String)>,
    fitting: HashSet<String>,
    history_libraries: Vec<String>,
    fitted_attributes: HashSet<String>,
    display_functions: HashSet<String>,
    plot_modules: Vec<String>,
    plot_methods: HashSet<String>,
    setup_calls: HashSet<String>,
    setup_prefixes: Vec<String>,
}

impl KindTable {
    /// The table compiled into coral. It is tested to parse; an empty table is the impossible
    /// fallback.
    pub fn builtin() -> &'static KindTable {
        static TABLE: OnceLock<KindTable> = OnceLock::new();
        TABLE.get_or_init(|| KindTable::from_toml(KINDS_TOML).unwrap_or_default())
    }

    pub fn from_toml(text: &str) -> Result<KindTable, String> {
        let file: KindsFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let kind =
            |name: &str| ValueKind::parse(name).ok_or_else(|| format!("unknown kind `{name}`"));
        let mut table = KindTable::default();
        for (name, calls) in &file.calls {
            let k = kind(name)?;
            for call in calls {
                // An entry naming a module or a name stem is a prefix: `pandas.read_`, `numpy.`.
                if call.ends_with('.') || call.ends_with('_') || is_class_stem(call) {
                    table.prefixes.push((call.clone(), k));
                } else {
                    table.exact.insert(call.clone(), k);
                }
            }
        }
        table
            .prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        for (receiver, methods) in &file.methods {
            let r = kind(receiver)?;
            for (method, result) in methods {
                if result == "none" {
                    table.returns_nothing.insert((r, method.clone()));
                    continue;
                }
                let result = kind(result)?;
                if method == "*" {
                    table.any_method.insert(r, result);
                } else {
                    table.methods.insert((r, method.clone()), result);
                }
            }
        }
        table.fitting = file.fitting.methods.into_iter().collect();
        table.history_libraries = file.fitting.history_libraries;
        table.fitted_attributes = file.attributes.fitted.into_iter().collect();
        table.display_functions = file.display.functions.into_iter().collect();
        table.plot_modules = file.display.plot_modules;
        table.plot_methods = file.display.plot_methods.into_iter().collect();
        for call in file.setup.calls {
            if call.ends_with('.') {
                table.setup_prefixes.push(call);
            } else {
                table.setup_calls.insert(call);
            }
        }
        Ok(table)
    }

    /// The kind a call of this qualified name returns, by the table.
    pub fn call_kind(&self, qualified: &str) -> Option<ValueKind> {
        if let Some(&k) = self.exact.get(qualified) {
            return Some(k);
        }
        self.prefixes
            .iter()
            .find(|(prefix, _)| qualified.starts_with(prefix.as_str()))
            .map(|&(_, k)| k)
    }

    fn method_kind(&self, receiver: ValueKind, method: &str) -> Option<ValueKind> {
        if self
            .returns_nothing
            .contains(&(receiver, method.to_owned()))
        {
            return None;
        }
        self.methods
            .get(&(receiver, method.to_owned()))
            .or_else(|| self.any_method.get(&receiver))
            .copied()
    }

    fn is_setup_call(&self, qualified: &str) -> bool {
        self.setup_calls.contains(qualified)
            || self
                .setup_prefixes
                .iter()
                .any(|p| qualified.starts_with(p.as_str()))
    }

    fn is_plot_call(&self, qualified: &str) -> bool {
        self.plot_modules
            .iter()
            .any(|m| qualified.starts_with(m.as_str()))
    }
}

/// `xgboost.XGB`, `lightgbm.LGBM`: a capitalised last part that names a family of classes.
fn is_class_stem(call: &str) -> bool {
    matches!(
        call,
        "xgboost.XGB" | "lightgbm.LGBM" | "catboost.CatBoost" | "transformers.AutoModel"
    )
}

/// What the pass found in one cell: the cell's flow, and the kind of each identifier
/// occurrence (by start byte) that holds a typed value.
#[derive(Debug, Default)]
pub struct FlowResult {
    pub flow: CellFlow,
    pub name_kinds: HashMap<usize, ValueKind>,
}

/// Types one cell's values, updating `scope` with the kinds of the names it binds.
pub fn analyze(root: Node<'_>, source: &str, scope: &mut Scope) -> FlowResult {
    let mut pass = Pass {
        source,
        table: KindTable::builtin(),
        out: FlowResult::default(),
        qualified: RefCell::default(),
    };
    pass.statement_facts(root, scope);
    // One cursor walks the tree in pre-order; `path` holds each visited node's ancestors (and
    // whether they are inside a definition), which `Node::parent` would find again by
    // descending from the root.
    let mut cursor = root.walk();
    let mut path: Vec<(Node<'_>, bool)> = Vec::new();
    loop {
        let node = cursor.node();
        let kind = ts::kind(node);
        let parent = path.last().copied();
        let in_def = parent.is_some_and(|(_, in_def)| in_def)
            || matches!(kind, "function_definition" | "class_definition" | "lambda");
        match kind {
            "assignment" | "augmented_assignment" if !in_def => pass.assignment(node, scope),
            "call" => pass.call(node, scope, in_def),
            "identifier" => {
                pass.identifier(node, parent.map(|(p, _)| p), cursor.field_id(), scope);
            }
            _ => {}
        }
        if cursor.goto_first_child() {
            path.push((node, in_def));
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                pass.last_expression(root, scope);
                return pass.out;
            }
            path.pop();
        }
    }
}

struct Pass<'a> {
    source: &'a str,
    table: &'static KindTable,
    out: FlowResult,
    /// `qualify` of each node asked about, by node id. `kind_of` descends a call chain up to
    /// `MAX_CHAIN` levels and asks for the qualified name at every level, which walks the rest
    /// of the chain again: 64 × 64 steps per call, seconds for a few kilobytes of
    /// `x.y()x.y()…` (fuzzing). The pass changes kinds, never imports or bindings, so a node's
    /// name holds for the whole pass.
    qualified: RefCell<HashMap<usize, Option<String>>>,
}

impl Pass<'_> {
    fn text(&self, node: Node<'_>) -> &str {
        self.source.get(node.byte_range()).unwrap_or_default()
    }

    fn qualify(&self, node: Node<'_>, scope: &Scope) -> Option<String> {
        self.qualified
            .borrow_mut()
            .entry(node.id())
            .or_insert_with(|| qualify(node, self.source, scope))
            .clone()
    }

    fn statement_facts(&mut self, root: Node<'_>, scope: &Scope) {
        let mut cursor = root.walk();
        let statements: Vec<Node<'_>> = root
            .named_children(&mut cursor)
            .filter(|c| ts::kind(*c) != "comment")
            .collect();
        self.out.flow.setup_only = !statements.is_empty()
            && statements
                .iter()
                .all(|s| self.is_setup_statement(*s, scope));
    }

    /// Jupyter shows the value of a cell's last expression; run after the walk, with the
    /// kinds the cell's own statements bound.
    fn last_expression(&mut self, root: Node<'_>, scope: &Scope) {
        let mut cursor = root.walk();
        let last = root
            .named_children(&mut cursor)
            .filter(|c| ts::kind(*c) != "comment")
            .last();
        let Some(expr) = last
            .filter(|s| ts::kind(*s) == "expression_statement")
            .and_then(|s| s.named_child(0))
        else {
            return;
        };
        if matches!(
            ts::kind(expr),
            "assignment" | "augmented_assignment" | "yield" | "await"
        ) || self.is_display_call(expr, scope)
        {
            return;
        }
        let kind = self.kind_of(expr, scope, 0);
        // A bare call of no known kind (`plt.show()`, `helper(x)`) shows nothing we can
        // name; a name, attribute or subscript shows what it holds.
        if kind.is_none() && ts::kind(expr) == "call" {
            return;
        }
        // `clf.fit(X, y)` last echoes the estimator: that is fitting, not showing.
        if ts::kind(expr) == "call"
            && matches!(
                kind,
                Some(ValueKind::Model | ValueKind::Fitted | ValueKind::History)
            )
        {
            return;
        }
        self.out.flow.displays = true;
        self.out.flow.shown = self.out.flow.shown.union(self.kinds_within(expr, scope));
        if let Some(kind) = kind {
            self.out.flow.shown.insert(kind);
        }
    }

    fn is_setup_statement(&self, statement: Node<'_>, scope: &Scope) -> bool {
        match ts::kind(statement) {
            "import_statement" | "import_from_statement" | "future_import_statement" => true,
            "expression_statement" => {
                statement
                    .named_child(0)
                    .is_some_and(|expr| match ts::kind(expr) {
                        "assignment" => {
                            ts::child(expr, "right").is_some_and(is_literal)
                                || ts::child(expr, "left")
                                    .is_some_and(|left| self.is_module_setting(left, scope))
                        }
                        "call" => ts::child(expr, "function")
                            .and_then(|f| self.qualify(f, scope))
                            .is_some_and(|q| self.table.is_setup_call(&q)),
                        _ => false,
                    })
            }
            _ => false,
        }
    }

    /// `plt.rcParams['figure.figsize']`, `pd.options.display.max_rows`: a setting of an
    /// imported module.
    fn is_module_setting(&self, target: Node<'_>, scope: &Scope) -> bool {
        let mut base = target;
        for _ in 0..MAX_CHAIN {
            base = match ts::kind(base) {
                "subscript" => match ts::child(base, "value") {
                    Some(v) => v,
                    None => return false,
                },
                "attribute" => match ts::child(base, "object") {
                    Some(v) => v,
                    None => return false,
                },
                "identifier" => {
                    return ts::kind(target) != "identifier" && scope.is_alias(self.text(base));
                }
                _ => return false,
            };
        }
        false
    }

    fn is_display_call(&self, node: Node<'_>, scope: &Scope) -> bool {
        ts::kind(node) == "call"
            && ts::child(node, "function")
                .and_then(|f| self.qualify(f, scope))
                .is_some_and(|q| self.table.display_functions.contains(&q))
    }

    fn identifier(
        &mut self,
        node: Node<'_>,
        parent: Option<Node<'_>>,
        field: Option<NonZeroU16>,
        scope: &Scope,
    ) {
        if !is_variable(parent, field) {
            return;
        }
        if let Some(kind) = scope.kind(self.text(node)) {
            self.out.name_kinds.insert(node.start_byte(), kind);
            self.out.flow.read.insert(kind);
        }
    }

    fn assignment(&mut self, node: Node<'_>, scope: &mut Scope) {
        let (Some(left), Some(right)) = (ts::child(node, "left"), ts::child(node, "right")) else {
            return;
        };
        let augmented = ts::kind(node) == "augmented_assignment";
        let kind = self.kind_of(right, scope, 0);
        let mut targets = vec![left];
        let mut names: Vec<Node<'_>> = Vec::new();
        while let Some(target) = targets.pop() {
            match ts::kind(target) {
                "identifier" => names.push(target),
                "pattern_list"
                | "tuple_pattern"
                | "list_pattern"
                | "list_splat_pattern"
                | "parenthesized_expression" => {
                    let mut cursor = target.walk();
                    targets.extend(target.named_children(&mut cursor));
                }
                "subscript" | "attribute" => self.mutation(target, scope),
                _ => {}
            }
        }
        for name in names {
            let text = self.text(name).to_owned();
            if augmented {
                if scope.kind(&text) == Some(ValueKind::Data) {
                    self.out.flow.mutates_data = true;
                }
                continue;
            }
            if let Some(kind) = kind {
                scope.set_kind(&text, kind);
                self.out.flow.bound.insert(kind);
            } else {
                scope.clear_kind(&text);
                self.out.flow.binds_untyped = true;
            }
        }
    }

    /// `df['x'] = …`, `df.columns = …`: the base name is data (or becomes data).
    fn mutation(&mut self, target: Node<'_>, scope: &mut Scope) {
        let mut base = target;
        for _ in 0..MAX_CHAIN {
            base = match ts::kind(base) {
                "subscript" => match ts::child(base, "value") {
                    Some(v) => v,
                    None => return,
                },
                "attribute" => match ts::child(base, "object") {
                    Some(v) => v,
                    None => return,
                },
                _ => break,
            };
        }
        if ts::kind(base) != "identifier" {
            return;
        }
        let name = self.text(base).to_owned();
        match scope.kind(&name) {
            Some(ValueKind::Data) => self.out.flow.mutates_data = true,
            None if ts::kind(target) == "subscript" && !scope.is_alias(&name) => {
                scope.set_kind(&name, ValueKind::Data);
                self.out.flow.mutates_data = true;
            }
            _ => {}
        }
    }

    fn call(&mut self, node: Node<'_>, scope: &mut Scope, in_def: bool) {
        let Some(function) = ts::child(node, "function") else {
            return;
        };
        let args = ts::child(node, "arguments");
        let qualified = self.qualify(function, scope);
        if let Some(q) = qualified.as_deref() {
            if self.table.display_functions.contains(q) {
                self.out.flow.displays = true;
                if let Some(args) = args {
                    let shown = self.kinds_within(args, scope);
                    self.out.flow.shown = self.out.flow.shown.union(shown);
                }
                return;
            }
        }
        let method = (ts::kind(function) == "attribute")
            .then(|| ts::child(function, "attribute"))
            .flatten()
            .map(|m| self.text(m).to_owned());
        let receiver = (ts::kind(function) == "attribute")
            .then(|| ts::child(function, "object"))
            .flatten();
        let is_plot = qualified
            .as_deref()
            .is_some_and(|q| self.table.is_plot_call(q))
            || method
                .as_deref()
                .is_some_and(|m| self.table.plot_methods.contains(m));
        if is_plot {
            self.out.flow.displays = true;
            let mut shown = args.map_or(KindSet::EMPTY, |a| self.kinds_within(a, scope));
            if let Some(receiver) = receiver {
                shown = shown.union(self.kinds_within(receiver, scope));
            }
            self.out.flow.shown = self.out.flow.shown.union(shown);
        }
        if let (Some(method), Some(receiver)) = (method.as_deref(), receiver) {
            if self.table.fitting.contains(method) {
                let kind = self.kind_of(receiver, scope, 0);
                match kind {
                    Some(ValueKind::Model | ValueKind::Fitted) => self.out.flow.fits = true,
                    None if ts::kind(receiver) == "identifier" => {
                        let name = self.text(receiver).to_owned();
                        if !scope.is_alias(&name) {
                            self.out.flow.fits = true;
                            if !in_def {
                                scope.set_kind(&name, ValueKind::Model);
                            }
                        }
                    }
                    None if ts::kind(receiver) == "call" => self.out.flow.fits = true,
                    _ => {}
                }
            }
            if let Some(args) = args {
                if receiver_is_data(self, receiver, scope) && has_inplace(args, self.source) {
                    self.out.flow.mutates_data = true;
                }
            }
        }
    }

    /// Kinds of every typed value inside `node`: its own kind and the kinds of the names it
    /// reads.
    fn kinds_within(&self, node: Node<'_>, scope: &Scope) -> KindSet {
        let mut set = KindSet::EMPTY;
        let mut stack = vec![(node, node.parent(), None)];
        let mut children = Vec::new();
        let mut visited = 0usize;
        while let Some((n, parent, field)) = stack.pop() {
            visited += 1;
            if visited > 4 * MAX_CHAIN * MAX_CHAIN {
                break;
            }
            match ts::kind(n) {
                "identifier" if is_variable(parent, field) => {
                    if let Some(k) = scope.kind(self.text(n)) {
                        set.insert(k);
                    }
                }
                "call" | "attribute" | "subscript" | "binary_operator" => {
                    if let Some(k) = self.kind_of(n, scope, 0) {
                        set.insert(k);
                    }
                }
                _ => {}
            }
            ts::fielded_children_into(n, &mut children);
            stack.extend(
                children
                    .drain(..)
                    .filter(|(child, _)| child.is_named())
                    .map(|(child, field)| (child, Some(n), field)),
            );
        }
        set
    }

    /// The kind of value an expression evaluates to, if the table and the scope can tell.
    fn kind_of(&self, node: Node<'_>, scope: &Scope, depth: usize) -> Option<ValueKind> {
        if depth >= MAX_CHAIN {
            return None;
        }
        let next = depth + 1;
        match ts::kind(node) {
            "identifier" => scope.kind(self.text(node)),
            "call" => self.call_kind(node, scope, next),
            "attribute" => {
                let object = ts::child(node, "object")?;
                let attribute = self.text(ts::child(node, "attribute")?);
                match self.kind_of(object, scope, next)? {
                    ValueKind::Model | ValueKind::Fitted | ValueKind::Transformer
                        if is_fitted_attribute(attribute, &self.table.fitted_attributes) =>
                    {
                        if attribute == "history" {
                            Some(ValueKind::History)
                        } else {
                            Some(ValueKind::Score)
                        }
                    }
                    ValueKind::Model | ValueKind::Transformer => None,
                    other => Some(other),
                }
            }
            "subscript" => self.kind_of(ts::child(node, "value")?, scope, next),
            "parenthesized_expression"
            | "keyword_argument"
            | "conditional_expression"
            | "await" => {
                let child = if ts::kind(node) == "keyword_argument" {
                    ts::child(node, "value")?
                } else {
                    node.named_child(0)?
                };
                self.kind_of(child, scope, next)
            }
            "binary_operator"
            | "comparison_operator"
            | "boolean_operator"
            | "unary_operator"
            | "list"
            | "tuple"
            | "expression_list"
            | "string"
            | "interpolation" => self.combined(node, scope, next).strongest(),
            _ => None,
        }
    }

    fn combined(&self, node: Node<'_>, scope: &Scope, depth: usize) -> KindSet {
        let mut set = KindSet::EMPTY;
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if let Some(k) = self.kind_of(child, scope, depth) {
                set.insert(k);
            }
        }
        set
    }

    fn call_kind(&self, node: Node<'_>, scope: &Scope, depth: usize) -> Option<ValueKind> {
        let function = ts::child(node, "function")?;
        let args =
            ts::child(node, "arguments").map_or(KindSet::EMPTY, |a| self.combined(a, scope, depth));
        let mut kind = None;
        if ts::kind(function) == "attribute" {
            let receiver = ts::child(function, "object")?;
            let method = self.text(ts::child(function, "attribute")?);
            if let Some(rk) = self.kind_of(receiver, scope, depth) {
                kind = self.table.method_kind(rk, method);
                if rk == ValueKind::Model
                    && self.table.fitting.contains(method)
                    && method.starts_with("fit")
                    && self.is_history_library(receiver, scope)
                {
                    kind = Some(ValueKind::History);
                }
                kind?;
            }
        } else if ts::kind(function) == "identifier" {
            // Calling a network on data gives its outputs (`net(x)`, torch modules).
            if scope.kind(self.text(function)) == Some(ValueKind::Model) {
                return Some(ValueKind::Predictions);
            }
        }
        if kind.is_none() {
            kind = self
                .qualify(function, scope)
                .and_then(|q| self.table.call_kind(&q));
        }
        match kind {
            None | Some(ValueKind::Data) => {
                let strongest = args.strongest();
                match strongest {
                    Some(ValueKind::Data) | None => kind.or(strongest),
                    other => other,
                }
            }
            other => other,
        }
    }

    fn is_history_library(&self, receiver: Node<'_>, scope: &Scope) -> bool {
        self.qualify(receiver, scope).is_some_and(|q| {
            self.table
                .history_libraries
                .iter()
                .any(|lib| q.starts_with(lib.as_str()))
        })
    }
}

fn receiver_is_data(pass: &Pass<'_>, receiver: Node<'_>, scope: &Scope) -> bool {
    pass.kind_of(receiver, scope, 0) == Some(ValueKind::Data)
}

fn has_inplace(args: Node<'_>, source: &str) -> bool {
    let mut cursor = args.walk();
    let found = args.named_children(&mut cursor).any(|arg| {
        ts::kind(arg) == "keyword_argument"
            && ts::child(arg, "name").and_then(|n| source.get(n.byte_range())) == Some("inplace")
            && ts::child(arg, "value").is_some_and(|v| ts::kind(v) == "true")
    });
    found
}

/// scikit-learn's fitted attributes end in `_` (`coef_`, `feature_importances_`); the table
/// lists the statsmodels and Keras ones.
fn is_fitted_attribute(attribute: &str, listed: &HashSet<String>) -> bool {
    (attribute.len() > 1 && attribute.ends_with('_') && !attribute.starts_with('_'))
        || listed.contains(attribute)
}

/// Whether an identifier under `parent`, in its `field`, names a variable (not an attribute
/// name, keyword or parameter).
fn is_variable(parent: Option<Node<'_>>, field: Option<NonZeroU16>) -> bool {
    let Some(parent) = parent else {
        return true;
    };
    let is_field = |name: &str| field.is_some() && field == ts::field_id(name);
    match ts::kind(parent) {
        "attribute" => !is_field("attribute"),
        "keyword_argument" => !is_field("name"),
        "function_definition"
        | "class_definition"
        | "parameters"
        | "default_parameter"
        | "typed_parameter"
        | "lambda_parameters"
        | "aliased_import"
        | "dotted_name" => false,
        _ => true,
    }
}

fn is_literal(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    let mut seen = 0usize;
    while let Some(n) = stack.pop() {
        seen += 1;
        if seen > MAX_CHAIN * MAX_CHAIN {
            return false;
        }
        match ts::kind(n) {
            "string" | "integer" | "float" | "true" | "false" | "none" | "concatenated_string" => {
                if ts::kind(n) == "string" {
                    let mut cursor = n.walk();
                    if n.named_children(&mut cursor)
                        .any(|c| ts::kind(c) == "interpolation")
                    {
                        return false;
                    }
                }
            }
            "list"
            | "tuple"
            | "dictionary"
            | "pair"
            | "set"
            | "unary_operator"
            | "binary_operator"
            | "parenthesized_expression"
            | "expression_list" => {
                let mut cursor = n.walk();
                stack.extend(n.named_children(&mut cursor));
            }
            _ => return false,
        }
    }
    true
}
