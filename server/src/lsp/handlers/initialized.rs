//! `initialized`: registers for configuration changes, pulls `workspace/configuration`, and
//! says once what the engine runs on.

use std::sync::Arc;

use tower_lsp_server::ls_types::Registration;
use tower_lsp_server::Client;

use crate::lsp::configure;
use crate::lsp::session::Session;
use crate::lsp::settings::Settings;

pub async fn initialized(session: &Arc<Session>, client: &Client) {
    let problems = Settings::default().apply(&session.init_options());
    configure::report(client, "initializationOptions", problems).await;
    let support = session.support();
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
