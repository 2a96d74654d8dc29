//! One walk over a cell's tree-sitter tree yields everything the featurizer needs: the selected
//! syntax nodes with their value subtokens, the qualified call names, and the statement facts
//! the weak-supervision rules read. The walk is iterative (a tree cursor), so nesting depth
//! cannot overflow the stack.

use std::cell::RefCell;
use std::sync::OnceLock;

use tree_sitter::{Node, Parser, Tree, TreeCursor};

use crate::dataflow::{self, CellFlow};
use crate::magics::{self, Preprocessed};
use crate::scope::{Scope, MAX_CHAIN};
use crate::subtokens;
use crate::ts;

/// Value subtokens kept per string literal, comment or magic.
const TEXT_VALUE_CAP: usize = 4;
/// Value subtokens kept per identifier.
const NAME_VALUE_CAP: usize = 6;
/// Value subtokens kept per node in all.
const NODE_VALUE_CAP: usize = 12;
/// Data-flow kind tokens a node may hold beyond [`NODE_VALUE_CAP`].
const NODE_KIND_CAP: usize = 2;
/// Positions (kind tokens and values) kept per cell; the model window is far smaller, the rest
/// is only counted.
pub const MAX_STORED_POSITIONS: usize = 4096;

/// Node kind token of an `IPython` magic, shell escape or help line.
pub const MAGIC_KIND: &str = "@magic";

/// One selected syntax node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxNode {
    /// Kind token: `@` + the tree-sitter kind (`@call`), or [`MAGIC_KIND`].
    pub kind: &'static str,
    /// Index of the parent in [`CellSyntax::nodes`], `None` at the top level.
    pub parent: Option<u32>,
    /// Lower-cased value subtokens (names, literal words, operators).
    pub values: Vec<String>,
}

/// What one walk found in a cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellSyntax {
    /// Selected nodes in pre-order (truncated at [`MAX_STORED_POSITIONS`] positions).
    pub nodes: Vec<SyntaxNode>,
    /// Positions (kind tokens plus values) of all selected nodes, stored or not.
    pub total_positions: usize,
    /// Selected nodes, stored or not.
    pub total_nodes: usize,
    /// Selected nodes that are import statements.
    pub import_nodes: usize,
    /// Qualified names of the calls in the cell, in source order.
    pub calls: Vec<String>,
    /// Top-level statements (comments and magics excluded).
    pub statements: usize,
    /// The cell is a single expression statement that assigns nothing.
    pub single_expression: bool,
    /// tree-sitter reported a syntax error, or could not parse at all.
    pub has_error: bool,
    /// `IPython` magic / shell / help lines.
    pub magics: usize,
    /// What the cell does with the notebook's typed values (the data-flow pass).
    pub flow: CellFlow,
}

fn kind_tokens() -> &'static [&'static str] {
    static TOKENS: OnceLock<Vec<&'static str>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        (0..language.node_kind_count())
            .map(|id| {
                let name = language.node_kind_for_id(id as u16).unwrap_or("unknown");
                &*Box::leak(format!("@{name}").into_boxed_str())
            })
            .collect()
    })
}

fn kind_token(node: Node<'_>) -> &'static str {
    if node.is_error() {
        return "@ERROR";
    }
    kind_tokens()
        .get(usize::from(node.kind_id()))
        .copied()
        .unwrap_or("@unknown")
}

thread_local! {
    static PARSER: RefCell<Option<Parser>> = RefCell::new(new_parser());
}

fn new_parser() -> Option<Parser> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    Some(parser)
}

fn parse(text: &str) -> Option<Tree> {
    PARSER.with(|cell| {
        cell.borrow_mut()
            .as_mut()
            .and_then(|parser| parser.parse(text, None))
    })
}

/// How a tree-sitter node takes part in the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A graph node of its own.
    Keep,
    /// Not a node; its children attach to the nearest kept ancestor.
    Wrapper,
    /// Contributes value subtokens to the nearest kept ancestor.
    Value,
    /// Contributes nothing (punctuation, keywords, string delimiters).
    Skip,
}

fn role(node: Node<'_>, parent_kind: &str, field: Option<&str>) -> Role {
    if !node.is_named() {
        return match parent_kind {
            "binary_operator"
            | "comparison_operator"
            | "boolean_operator"
            | "unary_operator"
            | "augmented_assignment"
            | "not_operator" => Role::Value,
            _ => Role::Skip,
        };
    }
    match ts::kind(node) {
        "identifier" | "integer" | "float" | "true" | "false" | "none" | "string_content" => {
            Role::Value
        }
        "string_start"
        | "string_end"
        | "escape_sequence"
        | "line_continuation"
        | "escape_interpolation" => Role::Skip,
        "module"
        | "expression_statement"
        | "block"
        | "argument_list"
        | "parenthesized_expression"
        | "expression_list"
        | "pattern_list"
        | "dotted_name"
        | "parameters"
        | "interpolation"
        | "import_prefix"
        | "relative_import"
        | "format_specifier" => Role::Wrapper,
        "attribute"
            if parent_kind == "attribute"
                || (parent_kind == "call" && field == Some("function")) =>
        {
            Role::Wrapper
        }
        _ => Role::Keep,
    }
}

struct Frame {
    /// Nearest kept node at or above this tree node.
    owner: Option<u32>,
    kind: &'static str,
}

struct Walker<'a> {
    source: &'a str,
    pre: &'a Preprocessed<'a>,
    out: CellSyntax,
    stored_positions: usize,
    /// A node was dropped for space: later nodes are only counted.
    full: bool,
    /// Each identifier's start byte and the node its subtokens went to.
    identifier_owners: Vec<(usize, u32)>,
}

/// Walks one cell, updating `scope` with its imports and bindings.
pub fn analyze(source: &str, scope: &mut Scope) -> CellSyntax {
    let pre = magics::preprocess(source);
    if pre.foreign_cell_magic {
        let mut values = Vec::new();
        subtokens::split_into(
            magics::magic_words(source.trim_start().lines().next().unwrap_or_default()),
            TEXT_VALUE_CAP,
            &mut values,
        );
        let positions = 1 + values.len();
        return CellSyntax {
            nodes: vec![SyntaxNode {
                kind: MAGIC_KIND,
                parent: None,
                values,
            }],
            total_positions: positions,
            total_nodes: 1,
            magics: 1,
            ..CellSyntax::default()
        };
    }
    let Some(tree) = parse(&pre.python) else {
        return CellSyntax {
            has_error: true,
            ..CellSyntax::default()
        };
    };
    let mut walker = Walker {
        source,
        pre: &pre,
        out: CellSyntax::default(),
        stored_positions: 0,
        full: false,
        identifier_owners: Vec::new(),
    };
    walker.out.has_error = tree.root_node().has_error();
    walker.out.magics = pre.magic_lines.len();
    walker.statement_facts(tree.root_node());
    walker.walk(&mut tree.walk(), scope);
    let typed = dataflow::analyze(tree.root_node(), source, scope);
    walker.out.flow = typed.flow;
    walker.add_kind_tokens(&typed.name_kinds);
    walker.out
}

impl Walker<'_> {
    fn text(&self, node: Node<'_>) -> &str {
        self.source.get(node.byte_range()).unwrap_or_default()
    }

    fn statement_facts(&mut self, root: Node<'_>) {
        let mut cursor = root.walk();
        let statements: Vec<Node<'_>> = root
            .named_children(&mut cursor)
            .filter(|child| ts::kind(*child) != "comment")
            .collect();
        self.out.statements = statements.len();
        self.out.single_expression = match statements.as_slice() {
            // Python 2's `print x` shows a value just like `print(x)`.
            [only] if ts::kind(*only) == "print_statement" => !only.has_error(),
            [only] if ts::kind(*only) == "expression_statement" => {
                let mut inner = only.walk();
                let assigns = only.named_children(&mut inner).any(|c| {
                    matches!(
                        ts::kind(c),
                        "assignment" | "augmented_assignment" | "named_expression"
                    )
                });
                !assigns && !only.has_error()
            }
            _ => false,
        };
    }

    fn walk(&mut self, cursor: &mut TreeCursor<'_>, scope: &mut Scope) {
        let mut stack: Vec<Frame> = Vec::new();
        // The root (`module`) is a wrapper.
        stack.push(Frame {
            owner: None,
            kind: "module",
        });
        if !cursor.goto_first_child() {
            return;
        }
        loop {
            let node = cursor.node();
            let parent = stack.last().map_or((None, "module"), |f| (f.owner, f.kind));
            let role = role(node, parent.1, cursor.field_name());
            let owner = match role {
                Role::Keep => Some(self.add_node(node, parent.0)),
                Role::Value => {
                    let target = match parent.0 {
                        Some(owner) => Some(owner),
                        // A bare name at the top level (`df`) becomes a node of its own.
                        None => Some(self.add_node(node, None)),
                    };
                    if let Some(target) = target {
                        self.add_value(target, node);
                    }
                    parent.0
                }
                Role::Wrapper | Role::Skip => parent.0,
            };
            if ts::kind(node) == "call" {
                if let Some(function) = ts::child(node, "function") {
                    if let Some(name) = qualify(function, self.source, scope) {
                        self.out.calls.push(name);
                    }
                }
            }
            let descend = matches!(role, Role::Keep | Role::Wrapper) && node.child_count() > 0;
            if descend && cursor.goto_first_child() {
                stack.push(Frame {
                    owner,
                    kind: ts::kind(node),
                });
                continue;
            }
            self.leave(node, scope);
            // Climb until a next sibling exists, leaving every finished ancestor.
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
                stack.pop();
                if stack.is_empty() {
                    return;
                }
                self.leave(cursor.node(), scope);
            }
        }
    }

    fn add_node(&mut self, node: Node<'_>, parent: Option<u32>) -> u32 {
        self.out.total_nodes += 1;
        self.out.total_positions += 1;
        let kind = if ts::kind(node) == "comment"
            && self
                .pre
                .is_magic_line(line_start(self.source, node.start_byte()))
        {
            MAGIC_KIND
        } else {
            kind_token(node)
        };
        let is_import = if kind == MAGIC_KIND {
            magics::is_setup_magic(self.text(node))
        } else {
            matches!(
                ts::kind(node),
                "import_statement" | "import_from_statement" | "future_import_statement"
            )
        };
        if is_import {
            self.out.import_nodes += 1;
        }
        let mut values = Vec::new();
        if ts::kind(node) == "comment" {
            let text = self.text(node);
            let words = if kind == MAGIC_KIND {
                magics::magic_words(text)
            } else {
                text
            };
            subtokens::split_into(words, TEXT_VALUE_CAP, &mut values);
            self.out.total_positions += values.len();
        }
        if self.full || self.stored_positions + 1 + values.len() > MAX_STORED_POSITIONS {
            self.full = true;
            return u32::MAX;
        }
        self.stored_positions += 1 + values.len();
        let id = self.out.nodes.len() as u32;
        self.out.nodes.push(SyntaxNode {
            kind,
            parent: parent.filter(|&p| p != u32::MAX),
            values,
        });
        id
    }

    /// Each identifier that holds a typed value gives its node that kind's token (once).
    fn add_kind_tokens(
        &mut self,
        name_kinds: &crate::fxhash::FxHashMap<usize, dataflow::ValueKind>,
    ) {
        for &(byte, target) in &self.identifier_owners {
            let Some(kind) = name_kinds.get(&byte) else {
                continue;
            };
            let Some(slot) = self.out.nodes.get_mut(target as usize) else {
                continue;
            };
            let token = kind.token();
            if slot.values.iter().any(|v| v == token)
                || slot.values.len() >= NODE_VALUE_CAP + NODE_KIND_CAP
                || self.stored_positions >= MAX_STORED_POSITIONS
            {
                continue;
            }
            slot.values.push(token.to_owned());
            self.stored_positions += 1;
            self.out.total_positions += 1;
        }
    }

    fn add_value(&mut self, target: u32, node: Node<'_>) {
        if ts::kind(node) == "identifier" {
            self.identifier_owners.push((node.start_byte(), target));
        }
        let mut values = Vec::new();
        match ts::kind(node) {
            "identifier" => {
                subtokens::split_into(self.text(node), NAME_VALUE_CAP, &mut values);
            }
            "string_content" => {
                subtokens::split_into(self.text(node), TEXT_VALUE_CAP, &mut values);
            }
            "integer" | "float" => values.push(number_token(self.text(node))),
            "true" | "false" | "none" => values.push(ts::kind(node).to_owned()),
            _ if !node.is_named() => values.push(ts::kind(node).to_owned()),
            _ => {}
        }
        if values.is_empty() {
            return;
        }
        let Some(slot) = self.out.nodes.get_mut(target as usize) else {
            self.out.total_positions += values.len();
            return;
        };
        let room = NODE_VALUE_CAP.saturating_sub(slot.values.len());
        values.truncate(room);
        self.out.total_positions += values.len();
        if self.full || self.stored_positions + values.len() > MAX_STORED_POSITIONS {
            self.full = true;
            return;
        }
        self.stored_positions += values.len();
        slot.values.extend(values);
    }

    /// Called once a node's subtree is done: imports and assignments update the scope.
    fn leave(&mut self, node: Node<'_>, scope: &mut Scope) {
        match ts::kind(node) {
            "import_statement" => record_import(node, self.source, scope),
            "import_from_statement" => record_from_import(node, self.source, scope),
            "assignment" => {
                let (Some(left), Some(right)) = (ts::child(node, "left"), ts::child(node, "right"))
                else {
                    return;
                };
                if ts::kind(left) != "identifier" {
                    return;
                }
                let name = self.text(left);
                match binding_for(right, self.source, scope) {
                    Some(value) if value != name => scope.bind(name, &value),
                    _ => scope.unbind(name),
                }
            }
            _ => {}
        }
    }
}

fn line_start(source: &str, byte: usize) -> usize {
    source
        .get(..byte)
        .and_then(|head| head.rfind('\n'))
        .map_or(0, |newline| newline + 1)
}

fn number_token(text: &str) -> String {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if text.bytes().all(|b| b.is_ascii_digit()) && digits <= 2 {
        text.to_owned()
    } else if text.contains(['.', 'e', 'E']) && !text.starts_with("0x") {
        "<float>".to_owned()
    } else {
        subtokens::NUMBER_TOKEN.to_owned()
    }
}

fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn record_import(node: Node<'_>, source: &str, scope: &mut Scope) {
    let mut cursor = node.walk();
    for child in node.children_by_field_name("name", &mut cursor) {
        match ts::kind(child) {
            "dotted_name" => {
                let full = compact(source.get(child.byte_range()).unwrap_or_default());
                let root = full.split('.').next().unwrap_or_default();
                if !root.is_empty() {
                    scope.import(root, root);
                }
            }
            "aliased_import" => {
                if let (Some(name), Some(alias)) =
                    (ts::child(child, "name"), ts::child(child, "alias"))
                {
                    let full = compact(source.get(name.byte_range()).unwrap_or_default());
                    scope.import(source.get(alias.byte_range()).unwrap_or_default(), &full);
                }
            }
            _ => {}
        }
    }
}

fn record_from_import(node: Node<'_>, source: &str, scope: &mut Scope) {
    let Some(module) = ts::child(node, "module_name") else {
        return;
    };
    let module = compact(source.get(module.byte_range()).unwrap_or_default());
    let module = module.trim_start_matches('.');
    let mut cursor = node.walk();
    for child in node.children_by_field_name("name", &mut cursor) {
        let (name, alias) = match ts::kind(child) {
            "dotted_name" => (child, child),
            "aliased_import" => match (ts::child(child, "name"), ts::child(child, "alias")) {
                (Some(name), Some(alias)) => (name, alias),
                _ => continue,
            },
            _ => continue,
        };
        let name = compact(source.get(name.byte_range()).unwrap_or_default());
        let local = compact(source.get(alias.byte_range()).unwrap_or_default());
        let qualified = if module.is_empty() {
            name
        } else {
            format!("{module}.{name}")
        };
        scope.import(&local, &qualified);
    }
}

/// What a variable assigned from `node` stands for. Method chains on a bound variable keep
/// its binding (`X = df.drop(...)`: still the frame `pandas.read_csv` made); otherwise the
/// innermost call names it (`df = pd.read_csv(f).dropna()` → `pandas.read_csv`, so a later
/// `df.describe()` is `pandas.read_csv.describe`, as the seed table spells it).
fn binding_for(node: Node<'_>, source: &str, scope: &Scope) -> Option<String> {
    let mut innermost_call = None;
    let mut current = node;
    for _ in 0..MAX_CHAIN {
        current = match ts::kind(current) {
            "identifier" => {
                let name = source.get(current.byte_range())?;
                if let Some(bound) = scope.binding(name) {
                    return Some(bound.to_owned());
                }
                if !scope.is_known(name) {
                    return None;
                }
                return innermost_call.and_then(|call: Node<'_>| qualify(call, source, scope));
            }
            "call" => {
                innermost_call = Some(current);
                ts::child(current, "function")?
            }
            "attribute" => ts::child(current, "object")?,
            "subscript" => ts::child(current, "value")?,
            _ => return None,
        };
    }
    None
}

/// The qualified name of an expression such as `pd.read_csv(x).dropna`: imports and bindings
/// resolve the base name, attribute names and chained calls append to it
/// (`pandas.read_csv.dropna`). Subscripts pass through (`df[cols].describe` → `….describe`).
pub fn qualify(node: Node<'_>, source: &str, scope: &Scope) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    let mut current = node;
    for _ in 0..MAX_CHAIN {
        match ts::kind(current) {
            "identifier" => {
                let base = scope.resolve(source.get(current.byte_range())?);
                let mut name = String::with_capacity(
                    base.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>(),
                );
                name.push_str(base);
                for part in parts.iter().rev() {
                    name.push('.');
                    name.push_str(part);
                }
                return Some(name);
            }
            "call" => current = ts::child(current, "function")?,
            "subscript" => current = ts::child(current, "value")?,
            "attribute" => {
                let attribute = ts::child(current, "attribute")?;
                parts.push(source.get(attribute.byte_range())?);
                current = ts::child(current, "object")?;
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(cells: &[&str]) -> Vec<Vec<String>> {
        let mut scope = Scope::new();
        cells
            .iter()
            .map(|cell| analyze(cell, &mut scope).calls)
            .collect()
    }

    #[test]
    fn qualified_names_resolve_aliases_across_cells_and_chains() {
        let out = calls(&[
            "import pandas as pd\nfrom sklearn.svm import SVC\nfrom sklearn import metrics as m",
            "df = pd.read_csv('a.csv').dropna()\ndf.describe()",
            "clf = SVC(kernel='rbf')\nclf.fit(X, y)\nm.accuracy_score(y, clf.predict(X))\nprint(len(df))",
            "import matplotlib.pyplot\nmatplotlib.pyplot.show()",
        ]);
        assert_eq!(out[0], Vec::<String>::new());
        assert_eq!(
            out[1],
            [
                "pandas.read_csv.dropna",
                "pandas.read_csv",
                "pandas.read_csv.describe"
            ]
        );
        assert_eq!(
            out[2],
            [
                "sklearn.svm.SVC",
                "sklearn.svm.SVC.fit",
                "sklearn.metrics.accuracy_score",
                "sklearn.svm.SVC.predict",
                "print",
                "len"
            ]
        );
        assert_eq!(out[3], ["matplotlib.pyplot.show"]);
    }

    #[test]
    fn reassignment_uses_the_old_binding_on_the_right() {
        let out =
            calls(&["import pandas as pd\ndf = pd.DataFrame(d)\ndf = df.fillna(0)\ndf.describe()"]);
        assert_eq!(
            out[0],
            [
                "pandas.DataFrame",
                "pandas.DataFrame.fillna",
                "pandas.DataFrame.describe"
            ]
        );
    }

    #[test]
    fn magics_are_nodes_and_do_not_break_parsing() {
        let mut scope = Scope::new();
        let syntax = analyze(
            "%matplotlib inline\n!pip install xgboost\nimport numpy as np",
            &mut scope,
        );
        assert!(!syntax.has_error);
        assert_eq!(syntax.magics, 2);
        let kinds: Vec<_> = syntax.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            ["@magic", "@magic", "@import_statement", "@aliased_import"]
        );
        assert_eq!(syntax.nodes[0].values, ["matplotlib", "inline"]);
        assert_eq!(syntax.import_nodes, 3);
        assert_eq!(scope.resolve("np"), "numpy");
    }

    #[test]
    fn single_expression_detection() {
        let mut scope = Scope::new();
        assert!(analyze("df.head()", &mut scope).single_expression);
        assert!(analyze("# look\ndf", &mut scope).single_expression);
        assert!(!analyze("x = df.head()", &mut scope).single_expression);
        assert!(!analyze("df.head()\ndf.tail()", &mut scope).single_expression);
        assert!(!analyze("import os", &mut scope).single_expression);
    }
}
