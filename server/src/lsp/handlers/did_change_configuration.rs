//! `workspace/didChangeConfiguration`: pulls the `coral` section when the client supports
//! `workspace/configuration`, else takes the settings pushed with the notification.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidChangeConfigurationParams;
use tower_lsp_server::Client;

use crate::lsp::configure;
use crate::lsp::session::Session;

pub async fn did_change_configuration(
    session: &Arc<Session>,
    client: &Client,
    params: DidChangeConfigurationParams,
) {
    if session.support().configuration {
        configure::pull(session, client, &params.settings).await;
    } else if !params.settings.is_null() {
        let before = session.all_settings();
        let mut problems = session.reload_config_file();
        problems.extend(session.set_workspace_settings(params.settings));
        configure::report(client, "settings", problems).await;
        if session.all_settings() != before {
            configure::apply(session, client).await;
        }
    }
}
