//! The server's state: open documents (notebooks and Python files), the cell-URI → notebook
//! map, settings, the inference engine and what the client supports.
//!
//! Handlers mutate this synchronously, before any `.await` (tower-lsp-server runs up to four
//! handlers at once, so state must be consistent at every await point). Every document change
//! takes a new generation number from one counter shared by all documents, and labelling
//! results are stored only if their generation is still the document's.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use coral_core::SeedTable;
use dashmap::DashMap;
use serde_json::Value;
use tokio::sync::watch;
use tower_lsp_server::ls_types::{ClientCapabilities, Diagnostic, Uri};

use super::analysis::{Analysis, Snapshot};
use super::document::virtual_notebook::SavedNotebook;
use super::document::Document;
use super::encoding::PositionEncoding;
use super::features::FeatureCache;
use super::settings::ClientSettings;
use super::LspOptions;
use crate::engine::{Engine, EngineConfig, EngineKey};
use crate::report::reference::ReferenceStats;
use crate::settings::file::{find_config, LoadedConfig};
use crate::settings::{resolve, Layer, Settings};

/// Diagnostics for one URI, with the version of the text they are for.
pub type Publish = (Uri, Option<i32>, Vec<Diagnostic>);

/// What the client said it supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // one flag per client capability
pub struct ClientSupport {
    pub encoding: PositionEncoding,
    /// `workspace/inlayHint/refresh`.
    pub inlay_hint_refresh: bool,
    /// `workspace/configuration`.
    pub configuration: bool,
    /// Dynamic registration of `workspace/didChangeConfiguration`.
    pub configuration_registration: bool,
    /// Dynamic registration of `workspace/didChangeWatchedFiles` (for `coral.toml`).
    pub watched_files_registration: bool,
}

impl ClientSupport {
    pub fn from_capabilities(caps: &ClientCapabilities) -> ClientSupport {
        let workspace = caps.workspace.as_ref();
        ClientSupport {
            encoding: PositionEncoding::negotiate(caps),
            inlay_hint_refresh: workspace
                .and_then(|w| w.inlay_hint.as_ref())
                .and_then(|h| h.refresh_support)
                .unwrap_or(false),
            configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
            configuration_registration: workspace
                .and_then(|w| w.did_change_configuration.as_ref())
                .and_then(|c| c.dynamic_registration)
                .unwrap_or(false),
            watched_files_registration: workspace
                .and_then(|w| w.did_change_watched_files.as_ref())
                .and_then(|c| c.dynamic_registration)
                .unwrap_or(false),
        }
    }
}

/// One open document and what the server knows about it.
pub struct DocState {
    pub document: Document,
    pub generation: u64,
    /// Wakes the document's worker with the new generation; dropping it stops the worker.
    pub trigger: watch::Sender<u64>,
    /// The latest labels (possibly of an older generation).
    pub analysis: Option<Arc<Analysis>>,
    /// Diagnostics last published, per URI.
    pub published: HashMap<Uri, Vec<Diagnostic>>,
    /// URIs whose text changed since the last publish: published first, and always.
    pub dirty: HashSet<Uri>,
    pub features: Arc<Mutex<FeatureCache>>,
}

/// The engine in use and a number that changes whenever it is replaced.
#[derive(Clone)]
pub struct EngineSlot {
    pub engine: Engine,
    pub epoch: u64,
    pub key: EngineKey,
}

/// All server state.
pub struct Session {
    documents: DashMap<Uri, DocState>,
    /// Cell URI → notebook URI.
    cells: DashMap<Uri, Uri>,
    generations: AtomicU64,
    /// What the editor asked for, and the settings all layers resolve to.
    settings: RwLock<(ClientSettings, Settings)>,
    init_options: RwLock<Value>,
    workspace_settings: RwLock<Value>,
    /// The workspace folder `coral.toml` / `[tool.coral]` is looked for from.
    workspace_root: RwLock<Option<std::path::PathBuf>>,
    /// The configuration file found there (and its settings layer), if any.
    config_file: RwLock<Option<(LoadedConfig, Layer)>>,
    engine: RwLock<EngineSlot>,
    options: LspOptions,
    support: RwLock<ClientSupport>,
    reference: RwLock<Option<Arc<ReferenceStats>>>,
    /// Held while diagnostics are computed for publishing and sent, so that a close's clearing
    /// never overtakes a worker's publish.
    pub publish_lock: tokio::sync::Mutex<()>,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(PoisonError::into_inner).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(PoisonError::into_inner) = value;
}

impl Session {
    /// A session on the heuristics until [`Session::set_engine`] installs the configured engine.
    pub fn new(options: LspOptions) -> Session {
        let client = ClientSettings::default();
        let resolved = resolve(&options.engine, &[&Layer::server_defaults(), &options.cli]);
        Session {
            documents: DashMap::new(),
            cells: DashMap::new(),
            generations: AtomicU64::new(0),
            engine: RwLock::new(EngineSlot {
                engine: Engine::heuristics_only(SeedTable::builtin()),
                epoch: 0,
                key: EngineKey::default(),
            }),
            settings: RwLock::new((client, resolved)),
            init_options: RwLock::new(Value::Null),
            workspace_settings: RwLock::new(Value::Null),
            workspace_root: RwLock::new(None),
            config_file: RwLock::new(None),
            options,
            support: RwLock::new(ClientSupport::default()),
            reference: RwLock::new(None),
            publish_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// What the editor asked for (surfaces, debounce, logging).
    pub fn client_settings(&self) -> ClientSettings {
        read(&self.settings).0
    }

    /// The resolved settings: defaults, `coral.toml`, the command line, the editor.
    pub fn settings(&self) -> Settings {
        read(&self.settings).1
    }

    /// Both, for telling whether anything changed.
    pub fn all_settings(&self) -> (ClientSettings, Settings) {
        read(&self.settings)
    }

    pub fn support(&self) -> ClientSupport {
        read(&self.support)
    }

    pub fn set_support(&self, support: ClientSupport) {
        write(&self.support, support);
    }

    pub fn encoding(&self) -> PositionEncoding {
        self.support().encoding
    }

    pub fn engine(&self) -> EngineSlot {
        read(&self.engine)
    }

    pub fn reference(&self) -> Option<Arc<ReferenceStats>> {
        read(&self.reference)
    }

    /// Installs a freshly loaded engine and finds the reference statistics that go with it.
    pub fn set_engine(&self, engine: Engine, key: EngineKey, config: &EngineConfig) {
        let epoch = self.engine().epoch + 1;
        write(
            &self.reference,
            ReferenceStats::for_engine(&engine, config).map(Arc::new),
        );
        write(&self.engine, EngineSlot { engine, epoch, key });
    }

    pub fn init_options(&self) -> Value {
        read(&self.init_options)
    }

    /// Records `initializationOptions`; returns the problems with them.
    pub fn set_init_options(&self, value: Value) -> Vec<String> {
        write(&self.init_options, value);
        self.recompute_settings()
    }

    /// Records the `coral` section of `workspace/configuration`; returns the problems with it.
    pub fn set_workspace_settings(&self, value: Value) -> Vec<String> {
        write(&self.workspace_settings, value);
        self.recompute_settings()
    }

    /// Sets the workspace folder and reads its configuration file; returns the problem with
    /// the file, if it cannot be used (the file is then left out).
    pub fn set_workspace_root(&self, root: Option<std::path::PathBuf>) -> Vec<String> {
        write(&self.workspace_root, root);
        self.reload_config_file()
    }

    /// The configuration file in use, if any.
    pub fn config_file(&self) -> Option<std::path::PathBuf> {
        read(&self.config_file).map(|(file, _)| file.path)
    }

    /// Reads the workspace's `coral.toml` / `[tool.coral]` again (it may have changed).
    pub fn reload_config_file(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let found = match read(&self.workspace_root) {
            Some(root) => match find_config(&root)
                .and_then(|file| file.map(|f| f.layer().map(|layer| (f, layer))).transpose())
            {
                Ok(found) => found,
                Err(e) => {
                    problems.push(format!("{e}; settings from it are not used"));
                    None
                }
            },
            None => None,
        };
        if let Some((file, _)) = &found {
            tracing::info!("configuration from {}", file.path.display());
        }
        write(&self.config_file, found);
        problems.extend(self.recompute_settings());
        problems
    }

    /// The editor's settings = defaults, then `initializationOptions`, then the workspace
    /// configuration; the resolved settings stack them over the file and the command line.
    fn recompute_settings(&self) -> Vec<String> {
        let mut client = ClientSettings::default();
        let mut problems = client.apply(&read(&self.init_options));
        problems.extend(client.apply(&read(&self.workspace_settings)));
        let file_layer = read(&self.config_file)
            .map(|(_, layer)| layer)
            .unwrap_or_default();
        let resolved = resolve(
            &self.options.engine,
            &[
                &Layer::server_defaults(),
                &file_layer,
                &self.options.cli,
                &client.layer,
            ],
        );
        write(&self.settings, (client, resolved));
        problems
    }

    fn next_generation(&self) -> u64 {
        self.generations.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Opens (or re-opens) a document. Returns the receiver its worker waits on.
    pub fn open(&self, key: Uri, document: Document) -> watch::Receiver<u64> {
        // A document opened again keeps its published list, so stale diagnostics clear.
        let published = match self.documents.remove(&key) {
            Some((_, old)) => {
                tracing::warn!("{} was opened again; replacing it", key.as_str());
                self.unindex_cells(&key, &old.document);
                old.published
            }
            None => HashMap::new(),
        };
        let generation = self.next_generation();
        let (trigger, mut receiver) = watch::channel(generation);
        receiver.mark_changed();
        if let Document::Notebook(nb) = &document {
            for cell in nb.cell_uris() {
                self.cells.insert(cell.clone(), key.clone());
            }
        }
        let dirty = document.diagnostic_uris(&key).into_iter().collect();
        self.documents.insert(
            key,
            DocState {
                document,
                generation,
                trigger,
                analysis: None,
                published,
                dirty,
                features: Arc::new(Mutex::new(FeatureCache::default())),
            },
        );
        receiver
    }

    /// Changes a document through `change` (which gets the document and returns whether
    /// anything changed and which URIs were touched). Bumps the generation and wakes the
    /// worker when something changed. `None` when the document is not open.
    pub fn change<R>(
        &self,
        key: &Uri,
        change: impl FnOnce(&mut Document) -> (R, Option<Vec<Uri>>),
    ) -> Option<R> {
        let mut state = self.documents.get_mut(key)?;
        let before: Vec<Uri> = match &state.document {
            Document::Notebook(nb) => nb.cell_uris().cloned().collect(),
            Document::Text(_) | Document::Virtual(_) => Vec::new(),
        };
        let (result, touched) = change(&mut state.document);
        if let Some(touched) = touched {
            let generation = self.next_generation();
            state.generation = generation;
            state.dirty.extend(touched);
            if let Document::Notebook(nb) = &state.document {
                let after: HashSet<&Uri> = nb.cell_uris().collect();
                for uri in &before {
                    if !after.contains(uri) {
                        self.cells.remove_if(uri, |_, nb_uri| nb_uri == key);
                    }
                }
                for uri in after {
                    self.cells.insert(uri.clone(), key.clone());
                }
            }
            state.trigger.send_replace(generation);
        }
        Some(result)
    }

    /// Closes a document; returns the URIs whose diagnostics must be cleared.
    pub fn close(&self, key: &Uri) -> Option<Vec<Uri>> {
        let (_, state) = self.documents.remove(key)?;
        self.unindex_cells(key, &state.document);
        let mut uris: Vec<Uri> = state.published.into_keys().collect();
        for uri in state.document.diagnostic_uris(key) {
            if !uris.contains(&uri) {
                uris.push(uri);
            }
        }
        Some(uris)
    }

    fn unindex_cells(&self, key: &Uri, document: &Document) {
        if let Document::Notebook(nb) = document {
            for cell in nb.cell_uris() {
                self.cells.remove_if(cell, |_, nb_uri| nb_uri == key);
            }
        }
    }

    /// Wakes one document's worker (a virtual notebook was saved).
    pub fn touch(&self, key: &Uri) {
        if let Some(mut state) = self.documents.get_mut(key) {
            let generation = self.next_generation();
            state.generation = generation;
            state.trigger.send_replace(generation);
        }
    }

    /// Records the saved notebook behind a virtual notebook. It takes effect with the next
    /// snapshot; the generation stays (the caller labels right after).
    pub fn set_saved(&self, key: &Uri, saved: Option<Arc<SavedNotebook>>) {
        if let Some(mut state) = self.documents.get_mut(key) {
            if let Document::Virtual(virtual_notebook) = &mut state.document {
                virtual_notebook.set_saved(saved);
            }
        }
    }

    /// Wakes every document's worker (settings or engine changed).
    pub fn touch_all(&self) {
        for mut state in self.documents.iter_mut() {
            let generation = self.next_generation();
            state.generation = generation;
            state.trigger.send_replace(generation);
        }
    }

    /// The document key (notebook or file URI) for `uri`, which may name a cell.
    pub fn key_for(&self, uri: &Uri) -> Option<Uri> {
        if self.documents.contains_key(uri) {
            return Some(uri.clone());
        }
        self.cells.get(uri).map(|nb| nb.value().clone())
    }

    /// Runs `f` on a document.
    pub fn with_document<R>(&self, key: &Uri, f: impl FnOnce(&DocState) -> R) -> Option<R> {
        self.documents.get(key).map(|state| f(&state))
    }

    pub fn is_open(&self, key: &Uri) -> bool {
        self.documents.contains_key(key)
    }

    pub fn open_documents(&self) -> Vec<Uri> {
        self.documents.iter().map(|e| e.key().clone()).collect()
    }

    /// A snapshot of the document as it is now, and its feature cache.
    pub fn snapshot(&self, key: &Uri) -> Option<(Snapshot, Arc<Mutex<FeatureCache>>)> {
        let encoding = self.encoding();
        self.documents.get(key).map(|state| {
            (
                Snapshot::new(key, state.generation, &state.document, encoding),
                state.features.clone(),
            )
        })
    }

    /// Stores `analysis` if it is still current, and returns what to publish: for each URI
    /// whose text changed or whose diagnostics differ from the last ones sent (dirty first),
    /// and an empty list for each URI that left the document. `None` when stale.
    pub fn store(&self, key: &Uri, analysis: Analysis) -> Option<Vec<Publish>> {
        let mut state = self.documents.get_mut(key)?;
        if state.generation != analysis.generation {
            return None;
        }
        let analysis = Arc::new(analysis);
        let mut first = Vec::new();
        let mut rest = Vec::new();
        let mut current: HashSet<&Uri> = HashSet::new();
        for (uri, version, diagnostics) in &analysis.diagnostics {
            current.insert(uri);
            let dirty = state.dirty.contains(uri);
            let changed = state.published.get(uri) != Some(diagnostics);
            if dirty {
                first.push((uri.clone(), *version, diagnostics.clone()));
            } else if changed {
                rest.push((uri.clone(), *version, diagnostics.clone()));
            }
        }
        let gone: Vec<Uri> = state
            .published
            .keys()
            .filter(|uri| !current.contains(uri))
            .cloned()
            .collect();
        for uri in gone {
            state.published.remove(&uri);
            rest.push((uri, None, Vec::new()));
        }
        for (uri, _, diagnostics) in first.iter().chain(&rest) {
            if current.contains(uri) {
                state.published.insert(uri.clone(), diagnostics.clone());
            }
        }
        state.dirty.clear();
        state.analysis = Some(analysis.clone());
        first.extend(rest);
        Some(first)
    }

    /// The generation a document is at.
    pub fn generation(&self, key: &Uri) -> Option<u64> {
        self.documents.get(key).map(|s| s.generation)
    }
}
