//! ONNX Runtime through `ort` (loaded dynamically): finding the library without panicking,
//! loading a model that meets the artefact contract (`coral_core::artefact`), and running batches.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};

use coral_core::{ModelInput, Stage};
use ort::environment::Environment;
use ort::session::builder::SessionBuilder;
use ort::session::Session;
use ort::value::Tensor;

use super::cache::StageProbs;
use super::{Device, EngineError};

use coral_core::artefact::{key, tensor, ModelMetadata};

/// File name of ONNX Runtime's shared library on this platform (`libonnxruntime.so`, …).
pub fn library_file_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Where to look for ONNX Runtime, in order: an explicit path, `ORT_DYLIB_PATH`, next to the
/// executable (also `lib/` and `../lib/` beside it), then the project's `.ort/lib` (where
/// `scripts/fetch-onnxruntime.sh` puts it; the project around the current directory or the
/// executable).
pub fn library_candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let name = library_file_name();
    let mut out = Vec::new();
    if let Some(path) = explicit {
        out.push(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(path));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        out.push(dir.join(&name));
        out.push(dir.join("lib").join(&name));
        out.push(dir.join("../lib").join(&name));
    }
    let in_project = super::discover::in_project(&Path::new(".ort/lib").join(&name));
    out.push(in_project.unwrap_or_else(|| Path::new(".ort/lib").join(&name)));
    out
}

/// The first existing library among [`library_candidates`].
pub fn find_library(explicit: Option<&Path>) -> Result<PathBuf, EngineError> {
    let candidates = library_candidates(explicit);
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(EngineError::NoLibrary {
            searched: candidates,
        })
}

static ENVIRONMENT: OnceLock<Result<(Environment, PathBuf), String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment. The library is loaded once (the first caller's
/// choice wins); a missing or incompatible library is an error, never a panic.
pub fn environment(explicit: Option<&Path>) -> Result<&'static Environment, EngineError> {
    let result = ENVIRONMENT.get_or_init(|| {
        let library = find_library(explicit).map_err(|e| e.to_string())?;
        let loaded = catch_unwind(AssertUnwindSafe(|| {
            ort::init_from(&library)
                .map_err(|e| format!("loading {}: {e}", library.display()))?
                .with_name("coral")
                .build()
                .map_err(|e| format!("starting ONNX Runtime from {}: {e}", library.display()))
        }))
        .unwrap_or_else(|_| {
            Err(format!(
                "ONNX Runtime at {} panicked while loading",
                library.display()
            ))
        })?;
        tracing::debug!(library = %library.display(), "ONNX Runtime loaded");
        Ok((loaded, library))
    });
    match result {
        Ok((env, _)) => Ok(env),
        Err(message) => Err(EngineError::Library(message.clone())),
    }
}

/// The library the environment was loaded from, once it is.
pub fn loaded_library() -> Option<&'static Path> {
    ENVIRONMENT
        .get()
        .and_then(|r| r.as_ref().ok())
        .map(|(_, p)| p.as_path())
}

fn ort_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Ort(e.to_string())
}

/// Which execution provider a session runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Cpu,
    Cuda,
}

impl Provider {
    pub fn device(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Cpu => "CPUExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
        }
    }
}

/// Graph rewrites that slow the CPU down. ONNX Runtime 1.31's CPU kernel for the fused
/// `SkipLayerNormalization` takes 6× as long as the `Add` and `LayerNormalization` it replaces
/// (3.2 ms against 0.5 ms on a [32, 64, 256] batch, one thread): left on, it cost 16 % of an
/// int8 model's time on two cores (`bench/ort_skip_layernorm.py` measures it again). CUDA
/// sessions keep the fusion.
const CPU_DISABLED_OPTIMIZERS: &str = "SkipLayerNormFusion";

fn base_builder(env: &Environment, threads: Option<usize>) -> Result<SessionBuilder, EngineError> {
    let mut builder = Session::builder(env).map_err(ort_err)?;
    if let Some(threads) = threads.filter(|&t| t > 0) {
        builder = builder.with_intra_threads(threads).map_err(ort_err)?;
    }
    Ok(builder)
}

/// Registers the CUDA execution provider; on failure returns the builder unchanged and why.
#[cfg(feature = "cuda")]
fn with_cuda(builder: SessionBuilder) -> (SessionBuilder, Result<(), String>) {
    use ort::ep::{ExecutionProvider, CUDA};
    match CUDA::is_available() {
        Ok(true) => {}
        Ok(false) => {
            return (
                builder,
                Err("this ONNX Runtime library has no CUDA execution provider (use the onnxruntime-gpu build)".into()),
            )
        }
        Err(e) => return (builder, Err(e.to_string())),
    }
    match builder.with_execution_providers([CUDA::default().build().error_on_failure()]) {
        Ok(builder) => (builder, Ok(())),
        Err(e) => {
            let message = e.to_string();
            (e.recover(), Err(message))
        }
    }
}

#[cfg(not(feature = "cuda"))]
fn with_cuda(builder: SessionBuilder) -> (SessionBuilder, Result<(), String>) {
    (
        builder,
        Err("coral-lsp was built without the `cuda` feature".into()),
    )
}

/// Commits a session for `model` on `device`: CUDA when asked (`cuda`) or possible (`auto`),
/// the CPU otherwise. A CUDA that cannot be used falls back to the CPU with a log line.
pub fn create_session(
    env: &Environment,
    model: &Path,
    device: Device,
    threads: Option<usize>,
) -> Result<(Session, Provider), EngineError> {
    if device != Device::Cpu {
        let (builder, registered) = with_cuda(base_builder(env, threads)?);
        match registered {
            Ok(()) => {
                let mut builder = builder;
                match builder.commit_from_file(model) {
                    Ok(session) => {
                        tracing::info!("ONNX Runtime: CUDA execution provider");
                        return Ok((session, Provider::Cuda));
                    }
                    Err(e) => log_no_cuda(device, &e.to_string()),
                }
            }
            Err(reason) => log_no_cuda(device, &reason),
        }
    }
    let mut builder = base_builder(env, threads)?
        .with_disabled_optimizers(CPU_DISABLED_OPTIMIZERS)
        .map_err(ort_err)?;
    let session = builder
        .commit_from_file(model)
        .map_err(|e| EngineError::Model {
            path: model.to_path_buf(),
            message: e.to_string(),
        })?;
    tracing::info!("ONNX Runtime: CPU execution provider");
    Ok((session, Provider::Cpu))
}

fn log_no_cuda(device: Device, reason: &str) {
    if device == Device::Cuda {
        tracing::warn!("CUDA requested but not usable ({reason}); running on the CPU");
    } else {
        tracing::debug!("no CUDA ({reason}); running on the CPU");
    }
}

/// Reads the contract's metadata and checks the graph's inputs and outputs.
pub fn inspect(session: &Session, path: &Path) -> Result<ModelMetadata, EngineError> {
    let contract = |message: String| EngineError::Contract {
        path: path.to_path_buf(),
        message,
    };
    for name in tensor::INPUTS {
        if !session.inputs().iter().any(|i| i.name() == name) {
            return Err(contract(format!("it has no input `{name}`")));
        }
    }
    if session.inputs().len() != 3 {
        let names: Vec<&str> = session
            .inputs()
            .iter()
            .map(ort::value::Outlet::name)
            .collect();
        return Err(contract(format!(
            "it takes inputs {names:?}; expected {}",
            tensor::INPUTS.join(", ")
        )));
    }
    if !session
        .outputs()
        .iter()
        .any(|o| o.name() == tensor::STAGE_PROBS)
    {
        return Err(contract(format!(
            "it has no output `{}`",
            tensor::STAGE_PROBS
        )));
    }
    let metadata = session.metadata().map_err(ort_err)?;
    let props: Vec<(&str, String)> = key::KNOWN
        .iter()
        .filter_map(|&name| metadata.custom(name).map(|value| (name, value)))
        .collect();
    ModelMetadata::from_props(props.iter().map(|(name, value)| (*name, value.as_str())))
        .map_err(|e| contract(e.to_string()))
}

/// A pool of sessions for one model; each run takes a free one.
pub struct SessionPool {
    sessions: Vec<Mutex<Session>>,
}

impl std::fmt::Debug for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionPool")
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

impl SessionPool {
    pub fn new(sessions: Vec<Session>) -> SessionPool {
        SessionPool {
            sessions: sessions.into_iter().map(Mutex::new).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Runs one padded batch of `inputs` (all at most `padded_len` long) and returns the six
    /// stage probabilities of each.
    pub fn run(
        &self,
        inputs: &[&ModelInput],
        padded_len: usize,
    ) -> Result<Vec<StageProbs>, EngineError> {
        let (b, l) = (inputs.len(), padded_len.max(1));
        let mut tokens = vec![0i64; b * l];
        let mut segments = vec![0i64; b * l];
        let mut mask = vec![false; b * l * l];
        for (row, input) in inputs.iter().enumerate() {
            let n = input.len().min(l);
            for (dst, &id) in tokens[row * l..row * l + n]
                .iter_mut()
                .zip(&input.token_ids)
            {
                *dst = i64::from(id);
            }
            for (dst, &seg) in segments[row * l..row * l + n]
                .iter_mut()
                .zip(&input.segments)
            {
                *dst = i64::from(seg);
            }
            if input.len() <= l {
                input.fill_mask(l, &mut mask[row * l * l..(row + 1) * l * l]);
            } else {
                return Err(EngineError::Ort(format!(
                    "input of {} positions does not fit the padded length {l}",
                    input.len()
                )));
            }
        }
        let tokens = Tensor::from_array(([b, l], tokens)).map_err(ort_err)?;
        let segments = Tensor::from_array(([b, l], segments)).map_err(ort_err)?;
        let mask = Tensor::from_array(([b, l, l], mask)).map_err(ort_err)?;
        let mut session = self.acquire();
        let outputs = session
            .run(ort::inputs![
                tensor::TOKENS => tokens,
                tensor::SEGMENTS => segments,
                tensor::MASK => mask,
            ])
            .map_err(ort_err)?;
        let value = outputs
            .get(tensor::STAGE_PROBS)
            .ok_or_else(|| EngineError::Ort(format!("no `{}` output", tensor::STAGE_PROBS)))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| EngineError::Ort(format!("`{}`: {e}", tensor::STAGE_PROBS)))?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims != [b as i64, Stage::OUTPUTS as i64] || data.len() != b * Stage::OUTPUTS {
            return Err(EngineError::Ort(format!(
                "`{}` has shape {dims:?}; expected [{b}, {}]",
                tensor::STAGE_PROBS,
                Stage::OUTPUTS
            )));
        }
        Ok(data
            .chunks_exact(Stage::OUTPUTS)
            .map(|row| {
                let mut probs = [0.0f32; Stage::OUTPUTS];
                probs.copy_from_slice(row);
                probs
            })
            .collect())
    }

    /// A free session if there is one, else the first (waiting on its lock).
    fn acquire(&self) -> MutexGuard<'_, Session> {
        for session in &self.sessions {
            match session.try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.sessions[0]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
