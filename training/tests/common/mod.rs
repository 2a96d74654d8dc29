//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use coral_training::onnx::runtime::library_path;
use coral_training::ModelConfig;

/// A small model configuration for fast tests.
pub fn tiny_config(vocab_size: usize) -> ModelConfig {
    ModelConfig {
        vocab_size,
        d_model: 32,
        heads: 4,
        layers: 2,
        ffn: 64,
        topics: 8,
        max_len: 48,
        dropout: 0.1,
        ..ModelConfig::default()
    }
}

/// Makes sure the ONNX Runtime library is there, fetching it with the project's script when it
/// is not. Returns false (the caller skips) only when `CORAL_SKIP_ORT=1`; otherwise a missing
/// library fails the test.
pub fn ensure_onnxruntime() -> bool {
    if library_path().is_some() {
        return true;
    }
    if std::env::var("CORAL_SKIP_ORT").as_deref() == Ok("1") {
        eprintln!("ONNX Runtime missing and CORAL_SKIP_ORT=1: skipping");
        return false;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-onnxruntime.sh");
    let status = Command::new("bash").arg(&script).status();
    assert!(
        matches!(status, Ok(s) if s.success()) && library_path().is_some(),
        "ONNX Runtime is missing and {} could not fetch it",
        script.display()
    );
    true
}

/// Runs `onnx.checker.check_model(full_check=True)` on `model` through
/// `training/tests/onnx_check.py` when Python has the `onnx` package. Without it the check is
/// skipped, unless `CORAL_REQUIRE_ONNX_CHECKER=1`, which makes a missing checker a failure.
pub fn onnx_checker(model: &Path) {
    let has_onnx = Command::new("python3")
        .args(["-c", "import onnx"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_onnx {
        assert!(
            std::env::var("CORAL_REQUIRE_ONNX_CHECKER").as_deref() != Ok("1"),
            "CORAL_REQUIRE_ONNX_CHECKER=1 but `python3 -c 'import onnx'` fails (pip install onnx)"
        );
        eprintln!("python3 has no onnx package: skipping onnx.checker");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_check.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(model)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "onnx.checker rejected {}:\n{}\n{}",
        model.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
