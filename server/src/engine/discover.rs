//! Where coral finds its model and ONNX Runtime at run time: beside the executable, then in
//! the project around the current directory, then in the one around the executable (a binary
//! built in a checkout, run from elsewhere). Never at a path baked in when it was built.

use std::path::{Path, PathBuf};

/// The nearest ancestor-or-self of the current directory, then of the executable's folder,
/// holding `relative`, joined with it.
pub fn in_project(relative: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let found = [cwd.clone(), exe_dir]
        .into_iter()
        .flatten()
        .find_map(|start| nearest(&start, relative))?;
    // Shown to users (`coral · model models/coral.onnx`): relative when under the cwd.
    let shown = cwd
        .and_then(|cwd| found.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or(found);
    Some(shown)
}

/// The nearest ancestor-or-self of `start` holding `relative`, joined with it.
pub fn nearest(start: &Path, relative: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(relative))
        .find(|candidate| candidate.exists())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_nearest_project_above() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(root.path().join("models")).unwrap();
        std::fs::write(root.path().join("models/coral.onnx"), b"x").unwrap();
        let found = nearest(&deep, Path::new("models/coral.onnx")).unwrap();
        assert_eq!(found, root.path().join("models/coral.onnx"));
        assert!(nearest(&deep, Path::new("models/absent.onnx")).is_none());
    }
}
