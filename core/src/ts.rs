//! Fast access to tree-sitter node kinds and fields. `Node::kind()` turns a C string into `&str`
//! on every call (`strlen` and UTF-8 validation) and `child_by_field_name` looks the field's
//! name up among all of the grammar's fields (`strncmp`) on every call; the featurizer asks
//! both for every node. Here both are table lookups, built once from the grammar.

use std::num::NonZeroU16;
use std::sync::OnceLock;

use tree_sitter::{Language, Node};

use crate::fxhash::FxHashMap;

fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

fn kind_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let language = language();
        (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .unwrap_or("")
            })
            .collect()
    })
}

fn field_ids() -> &'static FxHashMap<&'static str, NonZeroU16> {
    static IDS: OnceLock<FxHashMap<&'static str, NonZeroU16>> = OnceLock::new();
    IDS.get_or_init(|| {
        let language = language();
        (1..=language.field_count())
            .filter_map(|id| {
                let id = NonZeroU16::new(u16::try_from(id).ok()?)?;
                Some((language.field_name_for_id(id.get())?, id))
            })
            .collect()
    })
}

/// The node's kind, as `Node::kind` names it.
pub fn kind(node: Node<'_>) -> &'static str {
    kind_names()
        .get(usize::from(node.kind_id()))
        .copied()
        .unwrap_or_else(|| node.kind())
}

/// The id of the grammar's field `name`.
pub fn field_id(name: &str) -> Option<NonZeroU16> {
    field_ids().get(name).copied()
}

/// The node's child in `field`, as `Node::child_by_field_name` finds it.
pub fn child<'tree>(node: Node<'tree>, field: &str) -> Option<Node<'tree>> {
    node.child_by_field_id(field_ids().get(field)?.get())
}

/// The node's children with the field each is in, in order, into `out` (cleared first).
pub fn fielded_children_into<'tree>(
    node: Node<'tree>,
    out: &mut Vec<(Node<'tree>, Option<NonZeroU16>)>,
) {
    out.clear();
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            out.push((cursor.node(), cursor.field_id()));
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_agree_with_tree_sitter() {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&language()).expect("grammar");
        let source =
            "import pandas as pd\ndf = pd.read_csv('a.csv', sep=';')\ndf[df.x > 1].head()\n";
        let tree = parser.parse(source, None).expect("parse");
        let mut stack = vec![tree.root_node()];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            seen += 1;
            assert_eq!(kind(node), node.kind());
            for field in [
                "function",
                "arguments",
                "left",
                "right",
                "object",
                "attribute",
                "name",
                "value",
            ] {
                assert_eq!(
                    child(node, field),
                    node.child_by_field_name(field),
                    "{field}"
                );
            }
            let mut kids = Vec::new();
            fielded_children_into(node, &mut kids);
            let mut cursor = node.walk();
            let plain: Vec<Node<'_>> = node.children(&mut cursor).collect();
            assert_eq!(kids.iter().map(|k| k.0).collect::<Vec<_>>(), plain);
            for (_, field) in &kids {
                let named = field.and_then(|f| language().field_name_for_id(f.get()));
                assert!(named.is_none_or(|f| child(node, f).is_some()));
            }
            stack.extend(plain);
        }
        assert!(seen > 30);
        assert_eq!(child(tree.root_node(), "no-such-field"), None);
    }
}
