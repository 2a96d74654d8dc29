//! `initialized`: registers for configuration changes, pulls `workspace/configuration`, and
//! says once what the engine runs on.

use std::sync::Arc;

use tower_lsp_server::ls_types::{
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, Registration,
};
use tower_lsp_server::Client;

use crate::lsp::configure;
use crate::lsp::handlers::did_change_watched_files::WATCHED;
use crate::lsp::session::Session;
use crate::lsp::settings::ClientSettings;

pub async fn initialized(session: &Arc<Session>, client: &Client) {
    let problems = ClientSettings::default().apply(&session.init_options());
    configure::report(client, "initializationOptions", problems).await;
    // Read again, so that a problem with the file reaches the user's log now.
    let problems = session.reload_config_file();
    configure::report(client, "configuration file", problems).await;
    if let Some(path) = session.config_file() {
        client
            .log_message(
                tower_lsp_server::ls_types::MessageType::INFO,
                format!("coral: settings from {}", path.display()),
            )
            .await;
    }
    let support = session.support();
    if support.watched_files_registration {
        let watchers = WATCHED
            .iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String((*glob).to_owned()),
                kind: None,
            })
            .collect();
        let registration = Registration {
            id: "coral-configuration-files".to_owned(),
            method: "workspace/didChangeWatchedFiles".to_owned(),
            register_options: serde_json::to_value(DidChangeWatchedFilesRegistrationOptions {
                watchers,
            })
            .ok(),
        };
        if let Err(e) = client.register_capability(vec![registration]).await {
            tracing::debug!("registering for configuration file changes: {e}");
        }
    }
    if support.configuration_registration {
        let registration = Registration {
            id: "coral-configuration".to_owned(),
            method: "workspace/didChangeConfiguration".to_owned(),
            register_options: None,
        };
        if let Err(e) = client.register_capability(vec![registration]).await {
            tracing::debug!("registering for configuration changes: {e}");
        }
    }
    let (kind, message) = configure::engine_status(session);
    client.log_message(kind, message).await;
    if support.configuration {
        configure::pull(session, client, &serde_json::Value::Null).await;
    }
}
