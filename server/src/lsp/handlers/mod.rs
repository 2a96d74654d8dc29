//! One file per LSP method.

pub mod did_change;
pub mod did_change_configuration;
pub mod did_change_watched_files;
pub mod did_close;
pub mod did_open;
pub mod did_save;
pub mod hover;
pub mod initialize;
pub mod initialized;
pub mod inlay_hint;
pub mod notebook_did_change;
pub mod notebook_did_close;
pub mod notebook_did_open;
pub mod notebook_summary;
