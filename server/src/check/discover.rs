//! Which files `--check` reads: named files as they are, and in folders (recursively, sorted)
//! every `.ipynb` and every `.py` that is a `# %%` percent script. Hidden folders (such as
//! `.git` and `.ipynb_checkpoints`) are skipped; symbolic links to folders are not followed.

use std::io::Read;
use std::path::{Path, PathBuf};

use coral_core::Notebook;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Ipynb,
    PercentScript,
}

/// A file to check, or a path that cannot be (`problem`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub path: PathBuf,
    pub kind: FileKind,
    pub problem: Option<String>,
}

/// Bytes of a `.py` file read to decide whether it is a percent script.
const PERCENT_SNIFF_BYTES: u64 = 1 << 20;

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n != "." && n != "..")
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Whether the `.py` file at `path` has a `# %%` marker (in its first megabyte).
fn is_percent_file(path: &Path) -> bool {
    let mut head = Vec::new();
    let read =
        std::fs::File::open(path).and_then(|f| f.take(PERCENT_SNIFF_BYTES).read_to_end(&mut head));
    read.is_ok() && Notebook::is_percent_script(&String::from_utf8_lossy(&head))
}

/// The files to check under `paths`, in argument order, each folder's files sorted by path.
pub fn discover(paths: &[PathBuf]) -> Vec<Discovered> {
    let mut out = Vec::new();
    for path in paths {
        let problem = |message: String| Discovered {
            path: path.clone(),
            kind: FileKind::Ipynb,
            problem: Some(message),
        };
        match std::fs::metadata(path) {
            Err(e) => out.push(problem(format!("cannot read: {e}"))),
            Ok(meta) if meta.is_dir() => walk(path, &mut out),
            // A FIFO or device would block the read (or never end): name it and go on.
            Ok(meta) if !meta.is_file() => out.push(problem(
                "not a regular file (a pipe, socket or device); coral reads files".to_owned(),
            )),
            Ok(_) if has_extension(path, "ipynb") => out.push(Discovered {
                path: path.clone(),
                kind: FileKind::Ipynb,
                problem: None,
            }),
            // A `.py` named explicitly is read as a percent script even without markers
            // (then it is one code cell).
            Ok(_) if has_extension(path, "py") => out.push(Discovered {
                path: path.clone(),
                kind: FileKind::PercentScript,
                problem: None,
            }),
            Ok(_) => out.push(problem(
                "not a notebook: coral reads .ipynb files and .py percent scripts".to_owned(),
            )),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<Discovered>) {
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
            .collect(),
        Err(e) => {
            out.push(Discovered {
                path: dir.to_path_buf(),
                kind: FileKind::Ipynb,
                problem: Some(format!("cannot read folder: {e}")),
            });
            return;
        }
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, file_type) in entries {
        if is_hidden(&path) {
            continue;
        }
        if file_type.is_dir() {
            walk(&path, out);
        } else if file_type.is_file() || file_type.is_symlink() && path.is_file() {
            if has_extension(&path, "ipynb") {
                out.push(Discovered {
                    path,
                    kind: FileKind::Ipynb,
                    problem: None,
                });
            } else if has_extension(&path, "py") && is_percent_file(&path) {
                out.push(Discovered {
                    path,
                    kind: FileKind::PercentScript,
                    problem: None,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_skipping_hidden_and_plain_modules() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (name, text) in [
            ("b.ipynb", "{}"),
            ("a/z.ipynb", "{}"),
            ("a/script.py", "# %%\nx = 1\n"),
            ("a/module.py", "x = 1\n"),
            (".ipynb_checkpoints/b-checkpoint.ipynb", "{}"),
            ("a/.hidden/c.ipynb", "{}"),
            ("notes.txt", "x"),
        ] {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let found = discover(&[root.to_path_buf(), root.join("missing.ipynb")]);
        let names: Vec<String> = found
            .iter()
            .map(|d| {
                d.path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            ["a/script.py", "a/z.ipynb", "b.ipynb", "missing.ipynb"]
        );
        assert_eq!(found[0].kind, FileKind::PercentScript);
        assert!(found[3].problem.is_some());
        assert!(found[..3].iter().all(|d| d.problem.is_none()));
    }
}
