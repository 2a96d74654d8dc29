//! Incremental featurization: a cell whose text, markdown context and incoming scope (the
//! imports and bindings of the cells before it) are unchanged is not parsed again.
//!
//! This calls coral-core's [`featurize_cell`] exactly as [`coral_core::featurize_notebook`]
//! does — the one featurizer — and only remembers its results; a test checks both agree.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use coral_core::{featurize_cell, CellFeatures, CellKind, Notebook, Scope, SeedTable};

struct Entry {
    source: String,
    markdown: Option<String>,
    scope_before: Scope,
    features: CellFeatures,
    scope_after: Scope,
}

/// Featurized cells of one document, from its last run.
#[derive(Default)]
pub struct FeatureCache {
    entries: HashMap<u64, Vec<Entry>>,
    /// The engine (seed table) the entries were made with.
    epoch: u64,
    /// Cells featurized afresh / taken from the cache, over the cache's life.
    pub misses: u64,
    pub hits: u64,
}

impl FeatureCache {
    /// Featurizes every code cell of `notebook`; same output as `featurize_notebook`.
    /// `epoch` names the seed table: a new one empties the cache.
    pub fn featurize(
        &mut self,
        notebook: &Notebook,
        seeds: &SeedTable,
        epoch: u64,
    ) -> Vec<CellFeatures> {
        if epoch != self.epoch {
            self.entries.clear();
            self.epoch = epoch;
        }
        let mut previous = std::mem::take(&mut self.entries);
        let mut scope = Scope::new();
        let mut out = Vec::new();
        for (index, cell) in notebook.cells.iter().enumerate() {
            if cell.kind != CellKind::Code {
                continue;
            }
            let markdown_context = notebook.markdown_context(index);
            let markdown = markdown_context
                .and_then(|i| notebook.cells.get(i))
                .map(|c| c.source.as_str());
            let key = key(&cell.source, markdown);
            let hit = previous.get_mut(&key).and_then(|entries| {
                let at = entries.iter().position(|e| {
                    e.source == cell.source
                        && e.markdown.as_deref() == markdown
                        && e.scope_before == scope
                })?;
                Some(entries.swap_remove(at))
            });
            let entry = if let Some(mut entry) = hit {
                self.hits += 1;
                entry.features.index = index;
                entry.features.markdown_context = markdown_context;
                scope.clone_from(&entry.scope_after);
                entry
            } else {
                self.misses += 1;
                let scope_before = scope.clone();
                let features = featurize_cell(
                    index,
                    &cell.source,
                    markdown,
                    markdown_context,
                    &mut scope,
                    seeds,
                );
                Entry {
                    source: cell.source.clone(),
                    markdown: markdown.map(str::to_owned),
                    scope_before,
                    features,
                    scope_after: scope.clone(),
                }
            };
            out.push(entry.features.clone());
            self.entries.entry(key).or_default().push(entry);
        }
        out
    }
}

fn key(source: &str, markdown: Option<&str>) -> u64 {
    let mut hasher = DefaultHasher::new();
    source.hash(&mut hasher);
    markdown.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use coral_core::{featurize_notebook, Cell};

    fn fixtures() -> Vec<Notebook> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/notebooks");
        let mut notebooks: Vec<Notebook> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let bytes = std::fs::read(&path).ok()?;
                match path.extension()?.to_str()? {
                    "ipynb" => Notebook::from_ipynb(&bytes).ok(),
                    "py" => Some(Notebook::from_percent_script(&String::from_utf8_lossy(
                        &bytes,
                    ))),
                    _ => None,
                }
            })
            .collect();
        assert!(!notebooks.is_empty(), "fixtures in {}", dir.display());
        notebooks.push(Notebook {
            cells: vec![
                Cell::code("import pandas as pd"),
                Cell::markdown("## Load"),
                Cell::code("df = pd.read_csv('a.csv')"),
                Cell::code("df.head()"),
            ],
        });
        notebooks
    }

    #[test]
    fn agrees_with_featurize_notebook_and_reuses_unchanged_cells() {
        let seeds = SeedTable::builtin();
        for notebook in fixtures() {
            let mut cache = FeatureCache::default();
            assert_eq!(
                cache.featurize(&notebook, &seeds, 1),
                featurize_notebook(&notebook, &seeds)
            );
            let cells = notebook
                .cells
                .iter()
                .filter(|c| c.kind == CellKind::Code)
                .count() as u64;
            let misses = cache.misses;
            assert_eq!(
                cache.featurize(&notebook, &seeds, 1),
                featurize_notebook(&notebook, &seeds)
            );
            assert_eq!(cache.misses, misses, "nothing changed, nothing re-run");
            assert_eq!(cache.hits, cells);
        }
    }

    #[test]
    fn an_import_change_reruns_later_cells_and_moves_keep_results() {
        let seeds = SeedTable::builtin();
        let mut cache = FeatureCache::default();
        let mut nb = Notebook {
            cells: vec![
                Cell::code("import pandas as pd"),
                Cell::code("x = 1"),
                Cell::code("df = pd.read_csv('a.csv')"),
            ],
        };
        cache.featurize(&nb, &seeds, 1);
        nb.cells[0].source = "import polars as pd".to_owned();
        let out = cache.featurize(&nb, &seeds, 1);
        assert_eq!(out, featurize_notebook(&nb, &seeds));
        // The import cell and both cells after it saw a different scope.
        assert_eq!(cache.misses, 6);
        // Insert a raw cell at the top: indices shift, nothing is parsed again.
        nb.cells.insert(
            0,
            Cell {
                kind: CellKind::Raw,
                source: "raw".to_owned(),
            },
        );
        let out = cache.featurize(&nb, &seeds, 1);
        assert_eq!(out, featurize_notebook(&nb, &seeds));
        assert_eq!(cache.misses, 6);
        // A markdown cell gives the next three cells context: they run again.
        nb.cells[0] = Cell::markdown("## Load");
        assert_eq!(
            cache.featurize(&nb, &seeds, 1),
            featurize_notebook(&nb, &seeds)
        );
        assert_eq!(cache.misses, 9);
        // A new seed table empties the cache.
        cache.featurize(&nb, &seeds, 2);
        assert_eq!(cache.misses, 12);
    }

    #[test]
    fn an_edit_retypes_only_the_cells_after_it() {
        let seeds = SeedTable::builtin();
        let mut cache = FeatureCache::default();
        let mut nb = Notebook {
            cells: vec![
                Cell::code("import pandas as pd\nfrom sklearn.metrics import accuracy_score"),
                Cell::code("df = pd.read_csv('a.csv')"),
                Cell::code("pred = model.predict(X)"),
                Cell::code("score = accuracy_score(y, pred)"),
                Cell::code("score"),
            ],
        };
        cache.featurize(&nb, &seeds, 1);
        assert_eq!(cache.misses, 5);
        // `score` is typed by cell 3: editing cell 3 re-types cells 3 and 4, never 0–2.
        nb.cells[3].source = "score = 0.5".to_owned();
        let out = cache.featurize(&nb, &seeds, 1);
        assert_eq!(out, featurize_notebook(&nb, &seeds));
        assert_eq!(cache.misses, 7, "cells 3 and 4 re-run");
        assert_eq!(cache.hits, 3, "cells 0-2 kept");
        assert_ne!(
            out[4].weak_label.as_ref().map(|l| l.stage),
            Some(coral_core::Stage::Evaluate),
            "a literal is no score"
        );
        // An edit that leaves every kind as it was re-types nothing after it.
        nb.cells[3].source = "score = 0.75".to_owned();
        cache.featurize(&nb, &seeds, 1);
        assert_eq!(cache.misses, 8, "only the edited cell re-runs");
    }
}
