//! SARIF 2.1.0 as GitHub code scanning accepts it: one run, the driver's rules with
//! descriptions, help links and default levels, one result per finding with the line of the
//! cell in the file and a fingerprint that survives re-runs; unreadable files become error
//! notifications of the invocation.
//!
//! A file under the repository root is named by a relative URI against `%SRCROOT%`, one outside
//! it by an absolute `file://` URI with no base (SARIF 2.1.0 §3.4.4: a `uriBaseId` goes only
//! with a relative reference).

use std::collections::HashMap;
use std::fmt::Write as _;

use coral_core::{Rule, Severity};
use serde_json::{json, Value};

use super::{cell_region, Region};
use crate::check::{CheckReport, FileReport};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where the rules are documented: the rules table of server/README.md in the repository.
pub const HELP_URI: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/server/README.md#rules"
);
/// The key of coral's fingerprint in `partialFingerprints`; a new derivation needs a new key.
pub const FINGERPRINT_KEY: &str = "coralFinding/v1";
/// The base the relative artifact URIs resolve against.
pub const SRCROOT: &str = "%SRCROOT%";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule_index(rule: Rule) -> usize {
    Rule::ALL.iter().position(|&r| r == rule).unwrap_or(0)
}

fn artifact_location(uri: &str) -> Value {
    if uri.starts_with("file://") {
        json!({ "uri": uri })
    } else {
        json!({ "uri": uri, "uriBaseId": SRCROOT })
    }
}

fn location(uri: &str, region: Option<Region>) -> Value {
    let mut physical = json!({ "artifactLocation": artifact_location(uri) });
    if let Some(region) = region {
        let mut value = json!({ "startLine": region.line.max(1) });
        if let Some(end) = region.end_line {
            value["endLine"] = json!(end);
        }
        physical["region"] = value;
    }
    json!({ "physicalLocation": physical })
}

/// 64-bit FNV-1a: tiny, and fixed by its definition, so a fingerprint written today matches
/// the same finding next year (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The fingerprint of a finding: its rule, its file's URI (relative to the root), its cell and
/// which of that rule's findings on that cell it is. Line numbers and message text are left
/// out: they move when cells above are edited or counts change, and code scanning would then
/// close the alert and open a new one.
pub fn fingerprint(rule: Rule, uri: &str, cell: Option<usize>, occurrence: usize) -> String {
    let cell = cell.map_or_else(|| "notebook".to_owned(), |c| c.to_string());
    let key = format!("{}\0{uri}\0{cell}\0{occurrence}", rule.code());
    format!("{:016x}", fnv1a(key.as_bytes()))
}

fn results(file: &FileReport) -> Vec<Value> {
    let mut seen: HashMap<(Rule, Option<usize>), usize> = HashMap::new();
    file.labels
        .report
        .findings
        .iter()
        .map(|finding| {
            let occurrence = seen.entry((finding.rule, finding.cell)).or_default();
            let id = fingerprint(finding.rule, &file.uri, finding.cell, *occurrence);
            *occurrence += 1;
            let mut message = finding.message.clone();
            if let Some(cell) = finding.cell {
                let _ = write!(message, " (cell {cell})");
            }
            json!({
                "ruleId": finding.rule.code(),
                "ruleIndex": rule_index(finding.rule),
                "level": level(finding.severity),
                "message": { "text": message },
                "locations": [location(&file.uri, Some(cell_region(file, finding.cell)))],
                "partialFingerprints": { FINGERPRINT_KEY: id }
            })
        })
        .collect()
}

pub fn render(report: &CheckReport) -> String {
    let rules: Vec<Value> = Rule::ALL
        .iter()
        .map(|&rule| {
            json!({
                "id": rule.code(),
                "name": rule.name(),
                "shortDescription": { "text": rule.description() },
                "fullDescription": { "text": rule.description() },
                "defaultConfiguration": { "level": level(rule.severity()) },
                "helpUri": HELP_URI,
                "help": { "text": format!("{} ({}): {}", rule.code(), rule.name(), rule.description()) },
                "properties": { "tags": ["notebook", "data-analysis"] }
            })
        })
        .collect();

    let results: Vec<Value> = report.files.iter().flat_map(results).collect();

    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|error| {
            json!({
                "level": "error",
                "message": { "text": format!("{}: {}", error.display, error.message) },
                "locations": [location(&error.uri, None)]
            })
        })
        .collect();

    let sarif = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "coral",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "informationUri": HELP_URI,
                    "rules": rules
                }
            },
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications
            }],
            "originalUriBaseIds": {
                SRCROOT: { "description": { "text": "The repository root." } }
            },
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of the FNV reference implementation.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprints_tell_findings_apart_and_never_change() {
        let a = fingerprint(Rule::MissingStage, "nb/a.ipynb", None, 0);
        // A fingerprint already uploaded must keep matching: this value is frozen.
        assert_eq!(a, "fe00b0fcc54df655");
        assert_ne!(a, fingerprint(Rule::MissingStage, "nb/a.ipynb", None, 1));
        assert_ne!(a, fingerprint(Rule::MissingStage, "nb/b.ipynb", None, 0));
        assert_ne!(a, fingerprint(Rule::LowEntropy, "nb/a.ipynb", None, 0));
        assert_ne!(
            fingerprint(Rule::LowEntropy, "x", Some(1), 0),
            fingerprint(Rule::LowEntropy, "x", Some(2), 0)
        );
    }

    #[test]
    fn outside_files_are_absolute_uris_without_a_base() {
        assert_eq!(
            artifact_location("nb/a%20b.ipynb"),
            json!({ "uri": "nb/a%20b.ipynb", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            artifact_location("file:///elsewhere/x.ipynb"),
            json!({ "uri": "file:///elsewhere/x.ipynb" })
        );
    }
}
