//! One worker task per open document: waits for a change, debounces, labels a snapshot on a
//! blocking thread, drops the result if the document moved on meanwhile, else stores it,
//! publishes diagnostics and asks the client to refresh inlay hints.

use std::sync::{Arc, PoisonError};

use tokio::sync::watch;
use tower_lsp_server::ls_types::Uri;
use tower_lsp_server::Client;

use super::analysis::{analyze, Analysis};
use super::ipynb_on_disk;
use super::session::Session;

/// Spawns the worker of document `key`; it ends when the document closes.
pub fn spawn(session: Arc<Session>, client: Client, key: Uri, receiver: watch::Receiver<u64>) {
    tokio::spawn(run(session, client, key, receiver));
}

async fn run(session: Arc<Session>, client: Client, key: Uri, mut receiver: watch::Receiver<u64>) {
    let mut first = true;
    loop {
        if receiver.changed().await.is_err() {
            return; // closed
        }
        // The first labelling of a document runs at once; edits wait for the debounce.
        let debounce = session.client_settings().debounce;
        if !first && !debounce.is_zero() {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(debounce) => break,
                    changed = receiver.changed() => if changed.is_err() { return },
                }
            }
        }
        first = false;
        receiver.borrow_and_update();
        let Some(analysis) = label(&session, &key).await else {
            if session.is_open(&key) {
                continue;
            }
            return;
        };
        publish(&session, &client, &key, analysis).await;
    }
}

/// Labels the document as it is now (on a blocking thread). `None` when the document is
/// gone or labelling failed.
pub async fn label(session: &Arc<Session>, key: &Uri) -> Option<Analysis> {
    ipynb_on_disk::refresh(session, key).await;
    let (snapshot, features) = session.snapshot(key)?;
    let slot = session.engine();
    let (client_settings, settings) = session.all_settings();
    let reference = session.reference();
    let task = tokio::task::spawn_blocking(move || {
        let mut features = features.lock().unwrap_or_else(PoisonError::into_inner);
        analyze(
            &snapshot,
            &slot.engine,
            slot.epoch,
            &mut features,
            &client_settings,
            &settings.engine.findings,
            reference.as_deref(),
        )
    });
    match task.await {
        Ok(analysis) => Some(analysis),
        Err(e) => {
            tracing::error!("{}: labelling failed: {e}", key.as_str());
            None
        }
    }
}

/// Stores a result if still current and sends its diagnostics; then the inlay hint refresh.
async fn publish(session: &Arc<Session>, client: &Client, key: &Uri, analysis: Analysis) {
    let generation = analysis.generation;
    let guard = session.publish_lock.lock().await;
    let Some(updates) = session.store(key, analysis) else {
        tracing::debug!(
            "{}: result of generation {generation} is stale; dropped",
            key.as_str()
        );
        return;
    };
    for (uri, version, diagnostics) in updates {
        client.publish_diagnostics(uri, diagnostics, version).await;
    }
    drop(guard);
    if session.client_settings().inlay_hints && session.support().inlay_hint_refresh {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.inlay_hint_refresh().await {
                tracing::debug!("inlay hint refresh: {e}");
            }
        });
    }
}
