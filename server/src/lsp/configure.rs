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

/// What [`reload_engine`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    /// The settings ask for the engine in use.
    Unchanged,
    /// A new engine is in use.
    Loaded,
    /// The model the settings ask for could not be loaded (the reason); the model already in
    /// use keeps serving, and the next settings change tries again.
    KeptModel(String),
}

/// Loads the engine the settings ask for if it differs from the one in use (or `force`).
/// Blocking work runs on a blocking thread. A model that no longer loads (truncated, replaced
/// by something else, deleted) never replaces a working one with the heuristics.
pub async fn reload_engine(session: &Arc<Session>, force: bool) -> Reload {
    let config = session.settings().engine;
    let key = config.key();
    let current = session.engine();
    if !force && current.key == key {
        return Reload::Unchanged;
    }
    let load_config = config.clone();
    match tokio::task::spawn_blocking(move || Engine::load(&load_config)).await {
        Ok(engine) => {
            let in_use = current.engine.model_info();
            let new = engine.model_info();
            if config.use_model && new.fallback && !in_use.fallback {
                let reason = new
                    .fallback_reason
                    .unwrap_or_else(|| "the model could not be loaded".to_owned());
                tracing::warn!("{reason}; keeping the model in use");
                return Reload::KeptModel(reason);
            }
            session.set_engine(engine, key, &config);
            Reload::Loaded
        }
        Err(e) => {
            tracing::error!("loading the engine failed: {e}; keeping the one in use");
            Reload::KeptModel(e.to_string())
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
    match reload_engine(session, false).await {
        Reload::Unchanged => {}
        Reload::Loaded => {
            let (kind, message) = engine_status(session);
            client.log_message(kind, message).await;
        }
        Reload::KeptModel(reason) => {
            let in_use = session.engine().engine.model_info().path;
            let message = format!(
                "coral: {reason}; still labelling with the model loaded before ({})",
                in_use.map_or_else(|| "?".to_owned(), |p| p.display().to_string())
            );
            client.show_message(MessageType::WARNING, &message).await;
            client.log_message(MessageType::WARNING, message).await;
        }
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
