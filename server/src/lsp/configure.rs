//! Applying settings: pulling `workspace/configuration`, reloading the engine when the model
//! settings change, re-labelling every open document.

use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::{ConfigurationItem, MessageType};
use tower_lsp_server::Client;

use super::session::Session;
use crate::engine::Engine;
use crate::logging;

/// Settings section asked for with `workspace/configuration`.
pub const SECTION: &str = "coral";
/// How long to wait for the client's `workspace/configuration` answer.
const CONFIGURATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Loads the engine the settings ask for if it differs from the one in use (or `force`).
/// Blocking work runs on a blocking thread.
pub async fn reload_engine(session: &Arc<Session>, force: bool) -> bool {
    let config = session.settings().engine;
    let key = config.key();
    if !force && session.engine().key == key {
        return false;
    }
    let load_config = config.clone();
    match tokio::task::spawn_blocking(move || Engine::load(&load_config)).await {
        Ok(engine) => {
            session.set_engine(engine, key, &config);
            true
        }
        Err(e) => {
            tracing::error!("loading the engine failed: {e}; keeping the one in use");
            false
        }
    }
}

/// What the engine runs on, for the client's log.
pub fn engine_status(session: &Session) -> (MessageType, String) {
    let info = session.engine().engine.model_info();
    match (&info.path, &info.fallback_reason) {
        (Some(path), None) => (
            MessageType::INFO,
            format!(
                "coral: model {} on {} ({})",
                path.display(),
                info.device,
                info.provider.as_deref().unwrap_or("?")
            ),
        ),
        (_, reason) => (
            MessageType::WARNING,
            format!(
                "coral: no model in use ({}); labels come from the weak-label heuristics, and cells no rule covers get no stage",
                reason.as_deref().unwrap_or("no model")
            ),
        ),
    }
}

/// Asks the client for the `coral` section and applies it; `pushed` (the settings that came
/// with `didChangeConfiguration`) stands in when the client answers `null` — `JupyterLab`
/// answers every `workspace/configuration` item with `null` and pushes the user's
/// `serverSettings` instead.
pub async fn pull(session: &Arc<Session>, client: &Client, pushed: &serde_json::Value) {
    let items = vec![ConfigurationItem {
        scope_uri: None,
        section: Some(SECTION.to_owned()),
    }];
    match tokio::time::timeout(CONFIGURATION_TIMEOUT, client.configuration(items)).await {
        Ok(Ok(mut values)) => {
            let value = if values.is_empty() {
                serde_json::Value::Null
            } else {
                values.swap_remove(0)
            };
            let value = if value.is_null() {
                pushed.clone()
            } else {
                value
            };
            let before = session.all_settings();
            let mut problems = session.reload_config_file();
            problems.extend(session.set_workspace_settings(value));
            report(client, "workspace configuration", problems).await;
            if session.all_settings() != before {
                apply(session, client).await;
            }
        }
        Ok(Err(e)) => tracing::warn!("workspace/configuration failed: {e}"),
        Err(_) => tracing::warn!("workspace/configuration: no answer in {CONFIGURATION_TIMEOUT:?}"),
    }
}

/// Takes the current settings into effect: logging, the engine, every document's labels.
pub async fn apply(session: &Arc<Session>, client: &Client) {
    let settings = session.client_settings();
    let problems = logging::apply(settings.log_level.as_deref(), settings.log_file.as_deref());
    report(client, "settings", problems).await;
    if reload_engine(session, false).await {
        let (kind, message) = engine_status(session);
        client.log_message(kind, message).await;
    }
    session.touch_all();
}

/// Sends settings problems to the client's log (and ours).
pub async fn report(client: &Client, what: &str, problems: Vec<String>) {
    for problem in problems {
        tracing::warn!("{what}: {problem}");
        client
            .log_message(MessageType::WARNING, format!("coral {what}: {problem}"))
            .await;
    }
}
