//! SARIF 2.1.0 as GitHub code scanning accepts it: one run, the driver's rules with
//! descriptions, one result per finding with a repository-relative artifact URI and the line
//! of the cell in the file; unreadable files become error notifications of the invocation.

use std::fmt::Write as _;

use coral_core::{Rule, Severity};
use serde_json::{json, Value};

use crate::check::CheckReport;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where the rules are documented.
pub const HELP_URI: &str = concat!(
    env!("CARGO_PKG_REPOSITORY"),
    "/blob/main/server/README.md#rules"
);

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

fn location(uri: &str, line: Option<usize>) -> Value {
    let mut physical = json!({
        "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" }
    });
    if let Some(line) = line {
        physical["region"] = json!({ "startLine": line.max(1) });
    }
    json!({ "physicalLocation": physical })
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

    let mut results = Vec::new();
    for file in &report.files {
        for finding in &file.labels.report.findings {
            let mut message = finding.message.clone();
            if let Some(cell) = finding.cell {
                let _ = write!(message, " (cell {cell})");
            }
            results.push(json!({
                "ruleId": finding.rule.code(),
                "ruleIndex": rule_index(finding.rule),
                "level": level(finding.severity),
                "message": { "text": message },
                "locations": [location(&file.uri, Some(file.line_of(finding.cell)))]
            }));
        }
    }

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
                "%SRCROOT%": { "description": { "text": "The repository root." } }
            },
            "columnKind": "unicodeCodePoints",
            "results": results
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}
