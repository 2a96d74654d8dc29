//! GitHub Actions workflow commands: one `::warning file=…,line=…,title=…::message` annotation
//! per finding, one `::error` per unreadable file, then a plain summary line.
//!
//! GitHub attaches an annotation only when `file` is the path of a file in the checkout,
//! relative to `$GITHUB_WORKSPACE`; a URI or another folder's path silently attaches nowhere.
//! So `file` is relative to the workspace when the file is in it, else relative to the current
//! folder (a run outside Actions), else the plain absolute path.
//!
//! Escaping follows the runner's rules: in the message, `%`, `\r` and `\n` become `%25`, `%0D`
//! and `%0A`; in property values also `:` and `,` become `%3A` and `%2C`.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use coral_core::Severity;

use super::cell_region;
use crate::check::CheckReport;

/// The variable Actions sets to the checkout's folder.
pub const WORKSPACE_ENV: &str = "GITHUB_WORKSPACE";

/// Folders annotation paths are made relative to, in order of preference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnotationRoots {
    /// `$GITHUB_WORKSPACE`, when set.
    pub workspace: Option<PathBuf>,
    /// The folder coral ran in: the report's relative paths start there.
    pub cwd: PathBuf,
}

impl AnnotationRoots {
    /// The roots of a run in `cwd`, with the workspace from the environment.
    pub fn from_env(cwd: &Path) -> AnnotationRoots {
        AnnotationRoots {
            workspace: std::env::var_os(WORKSPACE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cwd: cwd.to_path_buf(),
        }
    }

    /// The `file=` value for `path` (as the report found it: relative paths start at `cwd`).
    pub fn annotation_path(&self, path: &Path) -> String {
        let absolute = lexical_absolute(path, &self.cwd);
        for root in self.workspace.iter().chain([&self.cwd]) {
            let root = lexical_absolute(root, &self.cwd);
            if let Some(relative) = relative_to(&absolute, &root) {
                return relative;
            }
            // Symbolic links (a workspace reached through one, `/tmp` on some systems) hide a
            // file under the root from the lexical comparison; the real paths still show it.
            if let (Ok(real), Ok(real_root)) = (absolute.canonicalize(), root.canonicalize()) {
                if let Some(relative) = relative_to(&real, &real_root) {
                    return relative;
                }
            }
        }
        absolute.to_string_lossy().into_owned()
    }
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved by name (the file may be gone).
fn lexical_absolute(path: &Path, cwd: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` below `root` as a `/`-separated relative path; `None` when it is not below it.
fn relative_to(path: &Path, root: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Escapes a command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// One workflow command. Columns are never given: a finding is about a whole cell, and GitHub
/// takes `col`/`endColumn` only on a single-line annotation.
fn annotation(
    severity: Severity,
    file: &str,
    lines: Option<(usize, Option<usize>)>,
    title: &str,
    message: &str,
) -> String {
    let mut properties = format!("file={}", escape_property(file));
    if let Some((line, end_line)) = lines {
        let _ = write!(properties, ",line={line}");
        if let Some(end) = end_line {
            let _ = write!(properties, ",endLine={end}");
        }
    }
    let _ = write!(properties, ",title={}", escape_property(title));
    format!(
        "::{} {properties}::{}\n",
        command(severity),
        escape_data(message)
    )
}

pub fn render(report: &CheckReport, roots: &AnnotationRoots) -> String {
    let mut out = String::new();
    for file in &report.files {
        let path = roots.annotation_path(&file.path);
        for finding in &file.labels.report.findings {
            let region = cell_region(file, finding.cell);
            let title = format!("coral {} {}", finding.rule.code(), finding.rule.name());
            let mut message = finding.message.clone();
            if let Some(cell) = finding.cell {
                let _ = write!(message, " (cell {cell})");
            }
            out.push_str(&annotation(
                finding.severity,
                &path,
                Some((region.line, region.end_line)),
                &title,
                &message,
            ));
        }
    }
    for error in &report.errors {
        out.push_str(&annotation(
            Severity::Error,
            &roots.annotation_path(&error.path),
            None,
            "coral: unreadable notebook",
            &error.message,
        ));
    }
    let _ = writeln!(
        out,
        "coral: {} notebooks, {} code cells, {} findings, {} unreadable",
        report.files.len(),
        report.code_cells(),
        report.findings(),
        report.errors.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_and_line_breaks_only() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        // `%` first, so an escape already in the text survives as text.
        assert_eq!(escape_data("literal %0A"), "literal %250A");
        // Colons and commas are data in a message.
        assert_eq!(escape_data("a, b: c :: d"), "a, b: c :: d");
        assert_eq!(escape_data(""), "");
        assert_eq!(escape_data("ünïcode ✓"), "ünïcode ✓");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("a,b: c%\n"), "a%2Cb%3A c%25%0A");
        assert_eq!(escape_property("coral: x"), "coral%3A x");
        assert_eq!(escape_property("C:\\nb,1.ipynb"), "C%3A\\nb%2C1.ipynb");
        assert_eq!(escape_property("%3A"), "%253A");
        assert_eq!(escape_property("line\r"), "line%0D");
    }

    #[test]
    fn annotations_carry_escaped_properties_and_message() {
        let line = annotation(
            Severity::Warning,
            "nb/a,b:c.ipynb",
            Some((3, Some(7))),
            "coral CRL002 model-without-evaluate",
            "fit, never evaluated: 100%\nsee cell 3",
        );
        assert_eq!(
            line,
            "::warning file=nb/a%2Cb%3Ac.ipynb,line=3,endLine=7,title=coral CRL002 \
             model-without-evaluate::fit, never evaluated: 100%25%0Asee cell 3\n"
        );
        let line = annotation(Severity::Info, "x.py", Some((1, None)), "t", "m");
        assert_eq!(line, "::notice file=x.py,line=1,title=t::m\n");
        let line = annotation(Severity::Error, "x.ipynb", None, "coral: bad", "m");
        assert_eq!(line, "::error file=x.ipynb,title=coral%3A bad::m\n");
    }

    #[test]
    fn paths_prefer_the_workspace_then_the_current_folder() {
        let roots = AnnotationRoots {
            workspace: Some(PathBuf::from("/ws")),
            cwd: PathBuf::from("/ws/sub"),
        };
        assert_eq!(roots.annotation_path(Path::new("nb.ipynb")), "sub/nb.ipynb");
        assert_eq!(
            roots.annotation_path(Path::new("./a/../b/nb.ipynb")),
            "sub/b/nb.ipynb"
        );
        assert_eq!(
            roots.annotation_path(Path::new("/ws/x/nb.ipynb")),
            "x/nb.ipynb"
        );
        assert_eq!(roots.annotation_path(Path::new("../up.ipynb")), "up.ipynb");
        // Outside the workspace: the current folder is the next root, then the plain path.
        let roots = AnnotationRoots {
            workspace: Some(PathBuf::from("/ws")),
            cwd: PathBuf::from("/elsewhere"),
        };
        assert_eq!(roots.annotation_path(Path::new("nb.ipynb")), "nb.ipynb");
        assert_eq!(
            roots.annotation_path(Path::new("/other/nb.ipynb")),
            "/other/nb.ipynb"
        );
        let roots = AnnotationRoots {
            workspace: None,
            cwd: PathBuf::from("/repo"),
        };
        assert_eq!(
            roots.annotation_path(Path::new("/repo/n b/x.ipynb")),
            "n b/x.ipynb",
            "a path, not a URI: nothing is percent-encoded"
        );
        assert_eq!(roots.annotation_path(Path::new("../x.ipynb")), "/x.ipynb");
    }
}
