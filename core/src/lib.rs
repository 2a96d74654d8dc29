//! coral-core: the one featurizer shared by training and serving.
//!
//! Pure: takes strings, returns plain data. No IO, no LSP, no async, no ML runtime.
//! Malformed input is data (a typed error or a result with issues), never a panic.

pub mod input;
pub mod stage;

pub use input::ModelInput;
pub use stage::Stage;
