//! A run interrupted at a checkpoint and resumed takes exactly the step an uninterrupted run
//! takes.

mod common;

use coral_training::loss::LossValues;
use coral_training::synthetic::{structured_task, TASK_VOCAB};
use coral_training::{train, TrainConfig};

fn config(max_steps: u64) -> TrainConfig {
    let mut config = TrainConfig {
        model: common::tiny_config(TASK_VOCAB),
        batch_size: 8,
        epochs: 3,
        max_steps: Some(max_steps),
        validation_fraction: 0.2,
        checkpoint_every: None,
        log_every: 1,
        progress: false,
        ..TrainConfig::default()
    };
    config.schedule.warmup_steps = 3;
    config.schedule.lr = 3e-3;
    config.loss.ce_warmup_steps = 2;
    config
}

/// burn's generator is process-wide: runs in parallel test threads would draw from it in turn.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn last_loss(max_steps: u64, dir: &std::path::Path) -> LossValues {
    let report = train(structured_task(160, 21), &config(max_steps), dir).expect("train");
    assert_eq!(report.steps, max_steps);
    report.last_step_loss.expect("a step was taken")
}

#[test]
fn resumed_run_takes_the_same_next_step() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // 128 training-ish cells / 8 = ~16 steps per epoch: step 6 is mid-epoch, 20 is past the
    // first epoch's end (validation, checkpoint at the boundary).
    for k in [6u64, 20] {
        let straight = tempfile::tempdir().expect("dir");
        let expected = last_loss(k + 1, straight.path());

        let interrupted = tempfile::tempdir().expect("dir");
        let _ = last_loss(k, interrupted.path());
        assert!(interrupted.path().join("checkpoint/state.json").is_file());
        let resumed = last_loss(k + 1, interrupted.path());

        assert_eq!(
            resumed,
            expected,
            "step {} after resuming at {k} differs from the uninterrupted run",
            k + 1
        );
    }
}

#[test]
fn resume_refuses_a_different_model() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("dir");
    let _ = last_loss(2, dir.path());
    let mut other = config(3);
    other.model.d_model = 16;
    let err = train(structured_task(160, 21), &other, dir.path()).expect_err("mismatch");
    assert!(err.to_string().contains("differs"), "{err}");
}

#[test]
fn a_time_limit_stops_mid_epoch_validates_and_resumes_there() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("dir");
    let mut limited = config(1_000);
    limited.max_steps = None;
    // A zero budget: the run stops before its first step, yet validates and writes a model.
    limited.max_minutes = Some(0.0);
    let report = train(structured_task(160, 21), &limited, dir.path()).expect("train");
    assert_eq!(report.steps, 0);
    assert_eq!(report.history.len(), 1);
    assert!(report.history[0].validation.is_some());
    assert!(report.model_path.is_file());
    // The epoch was not finished, so a resumed run without the limit starts it at batch 0.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("checkpoint/state.json")).expect("state"),
    )
    .expect("state json");
    assert_eq!(state["state"]["epoch"], 0);
}
