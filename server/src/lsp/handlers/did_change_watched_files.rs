//! `workspace/didChangeWatchedFiles`: a `coral.toml` or `pyproject.toml` changed, so the
//! workspace's configuration is read again and, when the settings change, applied.

use std::sync::Arc;

use tower_lsp_server::ls_types::DidChangeWatchedFilesParams;
use tower_lsp_server::Client;

use crate::lsp::configure;
use crate::lsp::session::Session;

/// The files the server asks the client to watch.
pub const WATCHED: [&str; 2] = ["**/coral.toml", "**/pyproject.toml"];

pub async fn did_change_watched_files(
    session: &Arc<Session>,
    client: &Client,
    params: &DidChangeWatchedFilesParams,
) {
    let configuration = params.changes.iter().any(|change| {
        change.uri.to_file_path().is_some_and(|path| {
            path.file_name()
                .is_some_and(|name| name == "coral.toml" || name == "pyproject.toml")
        })
    });
    if !configuration {
        return;
    }
    let before = session.all_settings();
    let problems = session.reload_config_file();
    configure::report(client, "configuration file", problems).await;
    if session.all_settings() != before {
        configure::apply(session, client).await;
    }
}
