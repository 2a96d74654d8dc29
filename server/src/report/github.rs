//! GitHub Actions workflow commands: one `::warning file=…,line=…,title=…::message` annotation
//! per finding, one `::error` per unreadable file, then a plain summary line.
//!
//! Escaping follows the runner's rules: in the message, `%`, `\r` and `\n` become `%25`, `%0D`
//! and `%0A`; in property values also `:` and `,` become `%3A` and `%2C`.

use std::fmt::Write as _;

use coral_core::Severity;

use crate::check::CheckReport;

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

/// The file path GitHub matches against the checkout: the repository-relative URI, decoded.
fn annotation_path(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn render(report: &CheckReport) -> String {
    let mut out = String::new();
    for file in &report.files {
        let path = escape_property(&annotation_path(&file.uri));
        for finding in &file.labels.report.findings {
            let line = file.line_of(finding.cell);
            let title = escape_property(&format!(
                "coral {} {}",
                finding.rule.code(),
                finding.rule.name()
            ));
            let mut message = finding.message.clone();
            if let Some(cell) = finding.cell {
                let _ = write!(message, " (cell {cell})");
            }
            let _ = writeln!(
                out,
                "::{} file={path},line={line},title={title}::{}",
                command(finding.severity),
                escape_data(&message)
            );
        }
    }
    for error in &report.errors {
        let _ = writeln!(
            out,
            "::error file={},title={}::{}",
            escape_property(&annotation_path(&error.uri)),
            escape_property("coral: unreadable notebook"),
            escape_data(&error.message)
        );
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
    fn escapes_data_and_properties() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_property("a,b: c%\n"), "a%2Cb%3A c%25%0A");
        assert_eq!(annotation_path("nb/a%20b.ipynb"), "nb/a b.ipynb");
        assert_eq!(annotation_path("x%2"), "x%2");
    }
}
