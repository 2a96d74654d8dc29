//! What earlier code of a notebook tells us about names: import aliases and the call a
//! variable was assigned from. Carried from cell to cell in notebook order.

use crate::fxhash::FxHashMap as HashMap;

use crate::dataflow::ValueKind;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `pd` → `pandas`, `SVC` → `sklearn.svm.SVC`.
    aliases: HashMap<String, String>,
    /// `df` → `pandas.read_csv` after `df = pd.read_csv(...)`.
    bindings: HashMap<String, String>,
    /// `df` → data, `clf` → model: the data-flow kind of each typed name.
    kinds: HashMap<String, ValueKind>,
}

/// Resolution chains longer than this are not followed (pathological generated code).
pub(crate) const MAX_CHAIN: usize = 64;

impl Scope {
    pub fn new() -> Scope {
        Scope::default()
    }

    pub fn import(&mut self, local: &str, qualified: &str) {
        self.bindings.remove(local);
        self.kinds.remove(local);
        self.aliases.insert(local.to_owned(), qualified.to_owned());
    }

    pub fn bind(&mut self, local: &str, qualified: &str) {
        self.bindings.insert(local.to_owned(), qualified.to_owned());
    }

    pub fn unbind(&mut self, local: &str) {
        self.bindings.remove(local);
    }

    /// What a bare name stands for: an assigned call, an import alias, or the name itself.
    pub fn resolve<'a>(&'a self, name: &'a str) -> &'a str {
        self.bindings
            .get(name)
            .or_else(|| self.aliases.get(name))
            .map_or(name, String::as_str)
    }

    /// What a variable was assigned from, if it was assigned from a resolvable call.
    pub fn binding(&self, name: &str) -> Option<&str> {
        self.bindings.get(name).map(String::as_str)
    }

    /// The data-flow kind of a name, if an earlier statement typed it.
    pub fn kind(&self, name: &str) -> Option<ValueKind> {
        self.kinds.get(name).copied()
    }

    pub fn set_kind(&mut self, name: &str, kind: ValueKind) {
        self.kinds.insert(name.to_owned(), kind);
    }

    /// Every typed name and its kind, sorted by name.
    pub fn typed_names(&self) -> Vec<(&str, ValueKind)> {
        let mut all: Vec<_> = self.kinds.iter().map(|(n, k)| (n.as_str(), *k)).collect();
        all.sort_unstable();
        all
    }

    pub fn clear_kind(&mut self, name: &str) {
        self.kinds.remove(name);
    }

    /// The name is an import alias (a module or an imported callable), not a variable.
    pub fn is_alias(&self, name: &str) -> bool {
        self.aliases.contains_key(name) && !self.bindings.contains_key(name)
    }

    pub fn is_known(&self, name: &str) -> bool {
        self.bindings.contains_key(name) || self.aliases.contains_key(name)
    }
}
