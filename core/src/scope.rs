//! What earlier code of a notebook tells us about names: import aliases and the call a
//! variable was assigned from. Carried from cell to cell in notebook order.

use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `pd` → `pandas`, `SVC` → `sklearn.svm.SVC`.
    aliases: HashMap<String, String>,
    /// `df` → `pandas.read_csv` after `df = pd.read_csv(...)`.
    bindings: HashMap<String, String>,
}

/// Resolution chains longer than this are not followed (pathological generated code).
pub(crate) const MAX_CHAIN: usize = 64;

impl Scope {
    pub fn new() -> Scope {
        Scope::default()
    }

    pub fn import(&mut self, local: &str, qualified: &str) {
        self.bindings.remove(local);
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

    pub fn is_known(&self, name: &str) -> bool {
        self.bindings.contains_key(name) || self.aliases.contains_key(name)
    }
}
