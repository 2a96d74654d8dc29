//! `coral` for Python: the engine of `coral-lsp --check` as an extension module (`coral._coral`,
//! re-exported by `coral/__init__.py`).
//!
//! A [`Labeler`] owns an [`Engine`] and a rayon pool of its own, so `threads` bounds what one
//! labeler uses even when several live in one process (Ray actors on one machine). Labelling
//! runs detached from the interpreter: other Python threads go on while a batch is labelled.

mod convert;
mod notebooks;

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use coral_core::metrics::FindingsConfig;
use coral_core::Stage;
use coral_server::check::discover::FileKind;
use coral_server::engine::{runtime, MODEL_DIR_ENV};
use coral_server::{Device, Engine, EngineConfig};
use pyo3::create_exception;
use pyo3::exceptions::{PyUserWarning, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use notebooks::{Input, NotebookFailure};

create_exception!(
    coral,
    CoralError,
    PyValueError,
    "A notebook, a model or a setting coral cannot use; `notebook` names the notebook (or None)."
);

/// Places the installed package adds to the command line's search (`coral/__init__.py` sets
/// them at import): a model shipped inside the package, and ONNX Runtime libraries of an
/// installed `onnxruntime` wheel.
#[derive(Default)]
struct PackagePaths {
    model: Option<PathBuf>,
    ort: Vec<PathBuf>,
}

static PACKAGE_PATHS: Mutex<PackagePaths> = Mutex::new(PackagePaths {
    model: None,
    ort: Vec::new(),
});

#[pyfunction]
#[pyo3(signature = (model=None, ort=Vec::new()))]
fn _set_package_paths(model: Option<PathBuf>, ort: Vec<PathBuf>) {
    let mut paths = PACKAGE_PATHS.lock().unwrap_or_else(PoisonError::into_inner);
    *paths = PackagePaths { model, ort };
}

/// How `--check` shares `threads` between ONNX Runtime sessions (one per thread, at most 4; each
/// gets an equal share), so a labeler with N threads runs as `--check --threads N` does.
fn share_threads(threads: usize, sessions: Option<usize>) -> (usize, Option<usize>) {
    let sessions = sessions.unwrap_or_else(|| threads.clamp(1, 4)).max(1);
    (sessions, Some((threads / sessions).max(1)))
}

fn coral_error(py: Python<'_>, notebook: Option<&str>, message: String) -> PyErr {
    let err = CoralError::new_err(message);
    // The attribute is a convenience; failing to set it must not hide the error itself.
    let _ = err.value(py).setattr("notebook", notebook);
    err
}

fn failure_error(py: Python<'_>, failure: &NotebookFailure) -> PyErr {
    coral_error(py, Some(&failure.name), failure.to_string())
}

/// A notebook argument read into owned text: a JSON string, UTF-8 bytes, or a dict (nbformat, or
/// a corpus shard's record), which goes through Python's `json.dumps`.
fn notebook_text(nb: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let py = nb.py();
    if let Ok(text) = nb.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    if let Ok(bytes) = nb.cast::<PyBytes>() {
        return String::from_utf8(bytes.as_bytes().to_vec()).map_err(|e| {
            coral_error(
                py,
                Some(name),
                format!(
                    "{name}: not valid UTF-8 (byte {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        });
    }
    if nb.cast::<PyDict>().is_ok() {
        let dumped = py.import("json")?.call_method1("dumps", (nb,))?;
        return dumped.extract::<String>();
    }
    Err(coral_error(
        py,
        Some(name),
        format!(
            "{name}: expected a notebook as a JSON str, bytes or dict, got {}",
            nb.get_type().name()?
        ),
    ))
}

/// The name a notebook is reported under: given, else a dict's `id` or `path`, else `fallback`.
fn notebook_name(nb: &Bound<'_, PyAny>, given: Option<String>, fallback: String) -> String {
    given
        .or_else(|| {
            let dict = nb.cast::<PyDict>().ok()?;
            ["id", "path"].iter().find_map(|key| {
                dict.get_item(key)
                    .ok()
                    .flatten()
                    .and_then(|v| v.extract::<String>().ok())
            })
        })
        .unwrap_or(fallback)
}

/// Labels notebooks with the shipped model (or the heuristics) exactly as `coral-lsp --check`
/// does.
#[pyclass(frozen, module = "coral")]
struct Labeler {
    engine: Engine,
    pool: rayon::ThreadPool,
    findings: FindingsConfig,
    threads: usize,
}

impl Labeler {
    fn run(
        &self,
        py: Python<'_>,
        owned: &[(String, String, FileKind)],
    ) -> Vec<notebooks::Labelled> {
        let inputs: Vec<Input<'_>> = owned
            .iter()
            .map(|(name, text, kind)| Input {
                name,
                text,
                kind: *kind,
            })
            .collect();
        py.detach(|| {
            self.pool
                .install(|| notebooks::label_json(&self.engine, &inputs, &self.findings))
        })
    }
}

#[pymethods]
impl Labeler {
    /// `model_dir`: a folder with coral.onnx and vocab.json, or the .onnx file (default: as
    /// `--check` finds it: `$CORAL_MODEL_DIR`, the model inside this package, the project's
    /// models/). Given explicitly, or with a `device` other than "auto", a model that cannot be
    /// used raises `CoralError`; otherwise coral falls back to its heuristics with a warning.
    #[new]
    #[pyo3(signature = (
        model_dir=None, device="auto", threads=None, *, use_model=true, sessions=None,
        batch_size=32, seeds=None, min_entropy=None, require_stages=Vec::new()
    ))]
    // Keyword arguments of one Python constructor, extracted owned by PyO3.
    #[allow(clippy::too_many_arguments, clippy::needless_pass_by_value)]
    fn new(
        py: Python<'_>,
        model_dir: Option<PathBuf>,
        device: &str,
        threads: Option<usize>,
        use_model: bool,
        sessions: Option<usize>,
        batch_size: usize,
        seeds: Option<PathBuf>,
        min_entropy: Option<f64>,
        require_stages: Vec<String>,
    ) -> PyResult<Self> {
        let device: Device = device
            .parse()
            .map_err(|e: coral_server::engine::UnknownDevice| {
                coral_error(py, None, e.to_string())
            })?;
        let threads = threads.filter(|&t| t > 0).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let mut findings = FindingsConfig::default();
        if let Some(h) = min_entropy {
            if !(0.0..=1.0).contains(&h) {
                return Err(coral_error(
                    py,
                    None,
                    format!("min_entropy {h} is outside 0..1 (it is the normalized stage entropy)"),
                ));
            }
            findings.min_normalized_entropy = h;
        }
        findings.required_stages = require_stages
            .iter()
            .map(|s| {
                s.parse::<Stage>()
                    .map_err(|e| coral_error(py, None, e.to_string()))
            })
            .collect::<PyResult<_>>()?;

        let strict = use_model && (model_dir.is_some() || device != Device::Auto);
        let (package_model, package_ort) = {
            let paths = PACKAGE_PATHS.lock().unwrap_or_else(PoisonError::into_inner);
            (paths.model.clone(), paths.ort.clone())
        };
        // The command line's order first; the package's own copies only where it finds none.
        let env_model = std::env::var_os(MODEL_DIR_ENV).is_some_and(|d| !d.is_empty());
        let model_dir = model_dir.or_else(|| {
            (!env_model)
                .then_some(package_model)
                .flatten()
                .filter(|dir| dir.join(coral_server::engine::MODEL_FILE).is_file())
        });
        let ort_library = match runtime::find_library(None) {
            Ok(_) => None,
            Err(_) => package_ort.into_iter().find(|p| p.is_file()),
        };
        let (sessions, session_threads) = share_threads(threads, sessions);
        let config = EngineConfig {
            model_dir,
            device,
            threads: session_threads,
            sessions,
            seeds,
            batch_size: batch_size.max(1),
            use_model,
            ort_library,
            findings: findings.clone(),
            ..EngineConfig::default()
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("coral-{i}"))
            .build()
            .map_err(|e| coral_error(py, None, format!("starting {threads} threads: {e}")))?;
        let engine = py.detach(|| {
            pool.install(|| {
                if strict {
                    Engine::try_load(&config).map_err(|e| format!("loading the model: {e}"))
                } else {
                    if let Some(seeds) = &config.seeds {
                        // As on the command line: an unreadable seed table is an error.
                        coral_server::engine::load_seeds(Some(seeds))
                            .map_err(|e| format!("reading the seed table: {e}"))?;
                    }
                    Ok(Engine::load(&config))
                }
            })
        });
        let engine = engine.map_err(|message| coral_error(py, None, message))?;
        if let Some(reason) = engine.fallback_reason().filter(|_| use_model) {
            let message = CString::new(format!("coral: {reason}; labelling with the heuristics"))
                .unwrap_or_default();
            PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)?;
        }
        Ok(Labeler {
            engine,
            pool,
            findings,
            threads,
        })
    }

    /// Labels one notebook (a JSON str, bytes, or dict); returns the file object of
    /// `coral-lsp --check --format json` for it.
    #[pyo3(signature = (notebook, name=None))]
    fn label_notebook<'py>(
        &self,
        py: Python<'py>,
        notebook: &Bound<'py, PyAny>,
        name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = notebook_name(notebook, name, "<notebook>".to_owned());
        let text = notebook_text(notebook, &name)?;
        self.one(py, name, text, FileKind::Ipynb)
    }

    /// Labels a `# %%` percent script as `--check` labels a `.py` file.
    #[pyo3(signature = (text, name=None))]
    fn label_script<'py>(
        &self,
        py: Python<'py>,
        text: String,
        name: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = name.unwrap_or_else(|| "<script>".to_owned());
        self.one(py, name, text, FileKind::PercentScript)
    }

    /// Labels many notebooks together, batching model runs across them, with the interpreter
    /// released. `errors="raise"` raises `CoralError` for the first unreadable notebook;
    /// `errors="return"` puts `{"path": name, "error": message}` in its place.
    #[pyo3(signature = (notebooks, names=None, errors="raise"))]
    #[allow(clippy::needless_pass_by_value)] // PyO3 extracts a list argument owned
    fn label_batch<'py>(
        &self,
        py: Python<'py>,
        notebooks: Vec<Bound<'py, PyAny>>,
        names: Option<Vec<String>>,
        errors: &str,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let keep_going = match errors {
            "raise" => false,
            "return" => true,
            other => {
                return Err(coral_error(
                    py,
                    None,
                    format!("errors must be \"raise\" or \"return\", not {other:?}"),
                ))
            }
        };
        if let Some(names) = &names {
            if names.len() != notebooks.len() {
                return Err(coral_error(
                    py,
                    None,
                    format!("{} names for {} notebooks", names.len(), notebooks.len()),
                ));
            }
        }
        let mut names = names.map(Vec::into_iter);
        let mut owned = Vec::with_capacity(notebooks.len());
        for (i, nb) in notebooks.iter().enumerate() {
            let given = names.as_mut().and_then(Iterator::next);
            let name = notebook_name(nb, given, format!("notebook[{i}]"));
            let text = notebook_text(nb, &name)?;
            owned.push((name, text, FileKind::Ipynb));
        }
        let results = self.run(py, &owned);
        results
            .into_iter()
            .map(|result| match result {
                Ok(value) => convert::to_py(py, &value),
                Err(failure) if keep_going => {
                    let dict = PyDict::new(py);
                    dict.set_item("path", &failure.name)?;
                    dict.set_item("error", &failure.message)?;
                    Ok(dict.into_any())
                }
                Err(failure) => Err(failure_error(py, &failure)),
            })
            .collect()
    }

    /// What the labels come from: `path`, `featurizer_version`, `device`, `provider`,
    /// `fallback`, `fallback_reason`, `max_len`, `vocab_sha256`.
    #[getter]
    fn model_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let info = serde_json::to_value(self.engine.model_info())
            .map_err(|e| coral_error(py, None, e.to_string()))?;
        convert::to_py(py, &info)
    }

    /// Whether the model labels cells (otherwise the heuristics do).
    #[getter]
    fn has_model(&self) -> bool {
        self.engine.has_model()
    }

    /// Why the heuristics label cells, or None when the model does.
    #[getter]
    fn fallback_reason(&self) -> Option<String> {
        self.engine.fallback_reason().map(str::to_owned)
    }

    #[getter]
    fn threads(&self) -> usize {
        self.threads
    }

    /// Counters: `cells_inferred`, `batches`, `cache_hits`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.engine.stats();
        let dict = PyDict::new(py);
        dict.set_item("cells_inferred", stats.cells_inferred)?;
        dict.set_item("batches", stats.batches)?;
        dict.set_item("cache_hits", stats.cache_hits)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let info = self.engine.model_info();
        match info.path {
            Some(path) => format!(
                "Labeler(model={:?}, device={:?}, threads={})",
                path.display().to_string(),
                info.device,
                self.threads
            ),
            None => format!("Labeler(heuristics, threads={})", self.threads),
        }
    }
}

impl Labeler {
    fn one<'py>(
        &self,
        py: Python<'py>,
        name: String,
        text: String,
        kind: FileKind,
    ) -> PyResult<Bound<'py, PyAny>> {
        let owned = [(name, text, kind)];
        match self.run(py, &owned).pop() {
            Some(Ok(value)) => convert::to_py(py, &value),
            Some(Err(failure)) => Err(failure_error(py, &failure)),
            None => Err(coral_error(
                py,
                Some(&owned[0].0),
                format!("{}: no result", owned[0].0),
            )),
        }
    }
}

/// The ONNX Runtime library this process loaded, once a model was loaded.
#[pyfunction]
fn ort_library() -> Option<String> {
    runtime::loaded_library().map(|p| p.display().to_string())
}

#[pymodule]
fn _coral(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CoralError", m.py().get_type::<CoralError>())?;
    m.add_class::<Labeler>()?;
    m.add_function(wrap_pyfunction!(ort_library, m)?)?;
    m.add_function(wrap_pyfunction!(_set_package_paths, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("FEATURIZER_VERSION", coral_core::FEATURIZER_VERSION)?;
    Ok(())
}
