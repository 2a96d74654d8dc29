//! Running an exported model through ONNX Runtime (`ort`, loaded dynamically), for the parity
//! test and the inference benchmark. The server has its own loader; this one only needs to be
//! correct and honest about a missing library.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use crate::batch::HostBatch;
use coral_core::artefact::tensor;

/// ONNX Runtime could not be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("no ONNX Runtime library: set ORT_DYLIB_PATH or run scripts/fetch-onnxruntime.sh")]
    NoLibrary,
    #[error("ONNX Runtime: {0}")]
    Ort(String),
    #[error("output {0} is missing or has the wrong type")]
    Output(&'static str),
}

fn ort_err(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Ort(e.to_string())
}

/// The ONNX Runtime library `ort` would load: `ORT_DYLIB_PATH` when it names a file, else
/// `.ort/lib/libonnxruntime.so` under the workspace root (where
/// `scripts/fetch-onnxruntime.sh` puts it).
pub fn library_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let fallback = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ort/lib/libonnxruntime.so");
    fallback.is_file().then_some(fallback)
}

static ENVIRONMENT: OnceLock<Result<Environment, RuntimeError>> = OnceLock::new();

/// The process-wide ONNX Runtime environment (loads the library once; never panics on a
/// missing library).
pub fn environment() -> Result<&'static Environment, RuntimeError> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = library_path().ok_or(RuntimeError::NoLibrary)?;
            ort::init_from(&lib)
                .map_err(ort_err)?
                .with_name("coral-training")
                .build()
                .map_err(ort_err)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The three outputs for a batch, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxOutputs {
    /// `[b, 6]`.
    pub stage_probs: Vec<f32>,
    /// `[b, K]`.
    pub topic_probs: Vec<f32>,
    /// `[b, d_model]`.
    pub embedding: Vec<f32>,
}

/// An ONNX Runtime session on the CPU.
pub struct OnnxSession {
    session: Session,
}

impl OnnxSession {
    /// Loads a model from bytes, with `threads` intra-op threads (0 = ONNX Runtime's default).
    pub fn from_bytes(bytes: &[u8], threads: usize) -> Result<Self, RuntimeError> {
        let env = environment()?;
        let mut builder = Session::builder(env).map_err(ort_err)?;
        if threads > 0 {
            builder = builder.with_intra_threads(threads).map_err(ort_err)?;
        }
        let session = builder.commit_from_memory(bytes).map_err(ort_err)?;
        Ok(Self { session })
    }

    /// Loads a model file.
    pub fn from_file(path: &Path, threads: usize) -> Result<Self, RuntimeError> {
        let bytes = std::fs::read(path).map_err(ort_err)?;
        Self::from_bytes(&bytes, threads)
    }

    /// Runs one batch.
    pub fn run(&mut self, batch: &HostBatch) -> Result<OnnxOutputs, RuntimeError> {
        let (b, l) = (batch.size, batch.len);
        let tokens = Tensor::from_array(([b, l], batch.tokens.clone())).map_err(ort_err)?;
        let segments = Tensor::from_array(([b, l], batch.segments.clone())).map_err(ort_err)?;
        let mask = Tensor::from_array(([b, l, l], batch.mask.clone())).map_err(ort_err)?;
        let outputs = self
            .session
            .run(ort::inputs![
                tensor::TOKENS => tokens,
                tensor::SEGMENTS => segments,
                tensor::MASK => mask,
            ])
            .map_err(ort_err)?;
        let take = |name: &'static str| -> Result<Vec<f32>, RuntimeError> {
            let value = outputs.get(name).ok_or(RuntimeError::Output(name))?;
            let (_, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|_| RuntimeError::Output(name))?;
            Ok(data.to_vec())
        };
        Ok(OnnxOutputs {
            stage_probs: take(tensor::STAGE_PROBS)?,
            topic_probs: take(tensor::TOPIC_PROBS)?,
            embedding: take(tensor::EMBEDDING)?,
        })
    }
}
