//! `coral-lsp --check` on the example and fixture notebooks, every format, heuristics and model
//! mode: snapshots of stdout and the exit code; the JSON schema of the README; SARIF validated
//! against the SARIF 2.1.0 JSON schema; GitHub annotations well-formed; the HTML page
//! self-contained. Paths given relative, absolute and outside the current folder, per format.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

const PATHS: [&str; 2] = ["examples", "fixtures/notebooks"];

fn check(mode: &[&str], format: &str) -> (String, i32) {
    let mut args = vec![
        "--check",
        "--no-config",
        "--no-progress",
        "--color=never",
        "--format",
        format,
    ];
    args.extend_from_slice(mode);
    args.extend_from_slice(&PATHS);
    let out = common::coral(&common::workspace(), &args);
    assert!(
        !common::stderr(&out).contains("panicked"),
        "{}",
        common::stderr(&out)
    );
    (common::stdout(&out), out.status.code().unwrap_or(-1))
}

const HEURISTICS: [&str; 1] = ["--no-model"];
const MODEL: [&str; 4] = ["--model", "server/tests/data/tiny-model", "--device", "cpu"];

fn snapshot(name: &str, text: &str, code: i32) {
    insta::assert_snapshot!(name, format!("exit code: {code}\n{text}"));
}

#[test]
fn text_heuristics() {
    let (out, code) = check(&HEURISTICS, "text");
    assert_eq!(code, 2, "fixtures include unreadable notebooks");
    snapshot("text_heuristics", &out, code);
}

#[test]
fn github_heuristics() {
    let (out, code) = check(&HEURISTICS, "github");
    check_annotations(&out);
    snapshot("github_heuristics", &out, code);
}

#[test]
fn json_heuristics() {
    let (out, code) = check(&HEURISTICS, "json");
    let json: Value = serde_json::from_str(&out).expect("valid JSON");
    check_json_schema(&json, false);
    snapshot("json_heuristics", &out, code);
}

#[test]
fn sarif_heuristics() {
    let (out, code) = check(&HEURISTICS, "sarif");
    validate_sarif(&out);
    snapshot("sarif_heuristics", &out, code);
}

#[test]
fn text_model() {
    if !common::ort_available() {
        return;
    }
    let (out, code) = check(&MODEL, "text");
    snapshot("text_model", &out, code);
}

#[test]
fn github_model() {
    if !common::ort_available() {
        return;
    }
    let (out, code) = check(&MODEL, "github");
    check_annotations(&out);
    snapshot("github_model", &out, code);
}

#[test]
fn json_model() {
    if !common::ort_available() {
        return;
    }
    let (out, code) = check(&MODEL, "json");
    let mut json: Value = serde_json::from_str(&out).expect("valid JSON");
    check_json_schema(&json, true);
    // Probabilities of a random model are near-uniform: snapshot their presence, not digits.
    for file in json["files"].as_array_mut().expect("files") {
        for cell in file["cells"].as_array_mut().expect("cells") {
            if let Some(p) = cell.get_mut("probabilities") {
                *p = Value::String("<five probabilities summing to 1>".into());
            }
        }
    }
    let text = serde_json::to_string_pretty(&json).expect("serialize");
    snapshot("json_model", &text, code);
}

#[test]
fn sarif_model() {
    if !common::ort_available() {
        return;
    }
    let (out, code) = check(&MODEL, "sarif");
    validate_sarif(&out);
    snapshot("sarif_model", &out, code);
}

/// The JSON format as server/README.md documents it.
fn check_json_schema(json: &Value, model: bool) {
    assert_eq!(json["version"], 1);
    let m = &json["model"];
    assert_eq!(m["fallback"], !model);
    assert!(m["featurizer_version"].is_string());
    assert!(m["device"].is_string());
    assert_eq!(m["path"].is_string(), model);
    let files = json["files"].as_array().expect("files");
    assert!(files.len() >= 10);
    for file in files {
        let path = file["path"].as_str().expect("path");
        let cells = file["cells"].as_array().expect("cells");
        for cell in cells {
            assert!(cell["index"].is_u64());
            assert!(cell["lines"].is_u64());
            assert!(cell["heuristic_rule"].is_string() || cell["heuristic_rule"].is_null());
            let stage = &cell["stage"];
            assert!(
                stage.is_null()
                    || ["IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE"]
                        .contains(&stage.as_str().expect("stage string")),
                "{path}: {stage}"
            );
            if let Some(p) = cell.get("probabilities") {
                assert!(model, "probabilities under the fallback");
                assert_eq!(cell["source"], "model");
                let p = p.as_object().expect("object");
                assert_eq!(p.len(), 5);
                let sum: f64 = p.values().map(|v| v.as_f64().expect("number")).sum();
                assert!((sum - 1.0).abs() < 1e-3, "{sum}");
            } else {
                assert_eq!(cell["source"], "heuristic");
                if model {
                    assert!(stage.is_null(), "a heuristic cell in model mode is empty");
                }
            }
        }
        // Cell indices count markdown cells: strictly increasing, not necessarily dense.
        let indices: Vec<u64> = cells
            .iter()
            .map(|c| c["index"].as_u64().expect("index"))
            .collect();
        assert!(
            indices.windows(2).all(|w| w[0] < w[1]),
            "{path}: {indices:?}"
        );
        let summary = &file["summary"];
        assert_eq!(
            summary["stage_shares"].as_object().expect("shares").len(),
            5
        );
        for key in ["entropy", "normalized_entropy", "transition_rate"] {
            assert!(summary[key].is_f64() || summary[key].is_u64(), "{key}");
        }
        for finding in file["findings"].as_array().expect("findings") {
            assert!(finding["rule"].as_str().expect("rule").starts_with("CRL"));
            assert!(["info", "warning", "error"]
                .contains(&finding["severity"].as_str().expect("severity")));
            assert!(finding["message"].is_string());
            assert!(finding["cell"].is_u64() || finding["cell"].is_null());
        }
    }
    let errors = json["errors"].as_array().expect("errors");
    let bad: Vec<&str> = errors
        .iter()
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        bad,
        [
            "fixtures/notebooks/binary.ipynb",
            "fixtures/notebooks/nbformat3.ipynb",
            "fixtures/notebooks/truncated.ipynb"
        ]
    );
    assert!(errors[1]["message"]
        .as_str()
        .expect("message")
        .contains("nbformat 3"));
}

/// Validates `sarif` against the SARIF 2.1.0 schema (vendored from a registry package; see
/// tests/data/README.md) and checks what the schema leaves open but code scanning needs:
/// rules with help and a default level, a fingerprint per result, relative URIs only with a
/// base.
fn validate_sarif_schema(sarif: &Value) {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json");
    // The vendored schema's `language` patterns have a stray `]`
    // (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, an erratum of the 2.1.0 schema) that the
    // validator rightly rejects as a regex; use the corrected pattern of later revisions.
    let schema_text = std::fs::read_to_string(schema_path)
        .expect("schema")
        .replace(
            r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
            r"^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
        );
    let schema: Value = serde_json::from_str(&schema_text).expect("schema JSON");
    let validator = jsonschema::draft4::new(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );

    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 6);
    for rule in rules {
        assert!(rule["shortDescription"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        let help = rule["helpUri"].as_str().expect("helpUri");
        assert!(
            help.starts_with("https://") && help.ends_with("/server/README.md#rules"),
            "an absolute link to the rules table: {help}"
        );
        assert!(["error", "warning", "note"].contains(
            &rule["defaultConfiguration"]["level"]
                .as_str()
                .expect("default level")
        ));
    }
    let mut fingerprints = std::collections::HashSet::new();
    for result in run["results"].as_array().expect("results") {
        let id = result["partialFingerprints"]["coralFinding/v1"]
            .as_str()
            .expect("fingerprint");
        assert!(
            fingerprints.insert(id.to_owned()),
            "duplicate fingerprint {id}"
        );
    }
    let notifications = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let locations = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .chain(notifications)
        .flat_map(|r| r["locations"].as_array().expect("locations"));
    for location in locations {
        let artifact = &location["physicalLocation"]["artifactLocation"];
        let uri = artifact["uri"].as_str().expect("uri");
        if uri.starts_with("file:///") {
            assert!(artifact.get("uriBaseId").is_none(), "{artifact}");
        } else {
            assert!(!uri.contains("://") && !uri.starts_with('/'), "{uri}");
            assert_eq!(artifact["uriBaseId"], "%SRCROOT%", "{artifact}");
        }
    }
}

fn validate_sarif(text: &str) {
    let sarif: Value = serde_json::from_str(text).expect("SARIF is JSON");
    validate_sarif_schema(&sarif);

    // Every fixture is in the repository: relative URIs of files that exist.
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            !uri.starts_with('/')
                && !uri.contains("://")
                && Path::new(&common::workspace()).join(uri).is_file(),
            "repository-relative URI of an existing file: {uri}"
        );
        assert!(location["region"]["startLine"].as_u64().expect("line") >= 1);
    }
}

fn check_annotations(text: &str) {
    for line in text.lines().filter(|l| l.starts_with("::")) {
        let (command, rest) = line[2..].split_once(' ').expect("command and properties");
        assert!(["error", "warning", "notice"].contains(&command), "{line}");
        let (props, message) = rest.split_once("::").expect("message");
        assert!(!message.contains('\n') && !message.is_empty());
        for prop in props.split(',') {
            let (key, value) = prop.split_once('=').expect("key=value");
            assert!(
                ["file", "line", "endLine", "col", "endColumn", "title"].contains(&key),
                "{line}"
            );
            assert!(!value.contains(':'), "unescaped ':' in {line}");
            if key == "file" {
                assert!(!value.starts_with("file%3A"), "a path, never a URI: {line}");
            }
            if key.ends_with("ine") || key.ends_with("olumn") || key == "col" {
                assert!(value.parse::<usize>().is_ok_and(|n| n >= 1), "{line}");
            }
        }
    }
}

#[test]
fn findings_point_at_the_cell_line_in_the_file() {
    let (out, _) = check(&HEURISTICS, "json");
    let json: Value = serde_json::from_str(&out).expect("JSON");
    let (sarif, _) = check(&HEURISTICS, "sarif");
    let sarif: Value = serde_json::from_str(&sarif).expect("SARIF");
    let root = common::workspace();
    let mut checked = 0;
    for result in sarif["runs"][0]["results"].as_array().expect("results") {
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        let line = location["region"]["startLine"].as_u64().expect("line") as usize;
        let text = std::fs::read_to_string(root.join(uri)).expect("file");
        let Some(cell) = json["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["path"] == uri)
            .and_then(|f| {
                f["findings"]
                    .as_array()
                    .expect("findings")
                    .iter()
                    .find(|x| x["rule"] == result["ruleId"])
            })
            .and_then(|f| f["cell"].as_u64())
        else {
            continue;
        };
        let shown = text.lines().nth(line - 1).expect("line exists");
        if std::path::Path::new(uri)
            .extension()
            .is_some_and(|e| e == "ipynb")
        {
            // The line holds the first source line of cell `cell`.
            let nb: Value = serde_json::from_str(&text).expect("notebook");
            let source = &nb["cells"][cell as usize]["source"];
            let first = source
                .as_array()
                .and_then(|a| a.first())
                .or(Some(source))
                .and_then(Value::as_str)
                .expect("source text");
            let encoded = serde_json::to_string(first).expect("encode");
            assert!(
                shown.contains(&encoded),
                "{uri}:{line}: {shown} does not hold {encoded}"
            );
        } else {
            assert!(
                shown.starts_with("# %%") || shown.starts_with("#%%"),
                "{uri}:{line}: {shown}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 2, "checked {checked} findings");
}

#[test]
fn exit_codes_filters_and_thresholds() {
    let root = common::workspace();
    let run = |args: &[&str]| {
        let mut all = vec!["--check", "--no-config", "--no-model", "--format=json"];
        all.extend_from_slice(args);
        let out = common::coral(&root, &all);
        let json: Value = serde_json::from_str(&common::stdout(&out)).expect("JSON");
        let rules: Vec<String> = json["files"]
            .as_array()
            .expect("files")
            .iter()
            .flat_map(|f| f["findings"].as_array().expect("findings").clone())
            .map(|f| f["rule"].as_str().expect("rule").to_owned())
            .collect();
        (out.status.code(), rules)
    };
    // A clean notebook.
    let (code, rules) = run(&["examples/titanic_classifier.ipynb"]);
    assert_eq!((code, rules.len()), (Some(0), 0));
    // Findings: exit 1.
    let (code, rules) = run(&["examples/regression_no_eval.ipynb"]);
    assert_eq!(code, Some(1));
    assert!(rules.contains(&"CRL002".to_owned()));
    // Ignored by code and by name: clean again.
    let (code, rules) = run(&[
        "--ignore=CRL002",
        "--ignore",
        "scattered-imports",
        "examples/regression_no_eval.ipynb",
    ]);
    assert_eq!((code, rules.len()), (Some(0), 0));
    // Select only one rule.
    let (_, rules) = run(&[
        "--select=model-without-evaluate",
        "examples/regression_no_eval.ipynb",
    ]);
    assert_eq!(rules, ["CRL002"]);
    // A threshold above every notebook's entropy and a required stage.
    let (code, rules) = run(&[
        "--min-entropy=0.99",
        "--require-stage=EVALUATE",
        "examples/sales_exploration.ipynb",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(rules, ["CRL001", "CRL006"]);
    // A missing path is an error (exit 2), after the others are checked.
    let (code, rules) = run(&["no/such/file.ipynb", "examples/regression_no_eval.ipynb"]);
    assert_eq!(code, Some(2));
    assert!(!rules.is_empty());
}

#[test]
fn configuration_from_pyproject_and_flags_override() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("project/notebooks");
    std::fs::create_dir_all(&nested).expect("mkdir");
    std::fs::copy(
        common::workspace().join("examples/regression_no_eval.ipynb"),
        nested.join("nb.ipynb"),
    )
    .expect("copy");
    std::fs::write(
        dir.path().join("project/pyproject.toml"),
        "[tool.coral]\nignore = [\"CRL002\", \"scattered-imports\"]\nformat = \"json\"\n",
    )
    .expect("write");
    let out = common::coral(&nested, &["--check", "--no-model", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let json: Value = serde_json::from_str(&common::stdout(&out)).expect("format from config");
    assert_eq!(json["files"][0]["path"], "nb.ipynb");

    let out = common::coral(&nested, &["--check", "--no-model", "--ignore=CRL001", "."]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "flags replace the file's ignore list"
    );

    std::fs::write(dir.path().join("project/coral.toml"), "colour = \"red\"\n").expect("write");
    let out = common::coral(&nested, &["--check", "--no-model", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("colour"),
        "{}",
        common::stderr(&out)
    );
}

#[test]
fn cli_basics() {
    let root = common::workspace();
    let out = common::coral(&root, &["--version"]);
    assert!(out.status.success());
    assert!(common::stdout(&out).starts_with("coral-lsp "));
    let out = common::coral(&root, &["--help"]);
    assert!(common::stdout(&out).contains("--check"));
    let out = common::coral(&root, &["--check", "--format=xml", "examples"]);
    assert_eq!(out.status.code(), Some(2));
    // Without --check (and until the language server lands): a message and a failure.
    let out = common::coral(&root, &["examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stdout(&out).is_empty());
    // Logs never reach stdout.
    let out = common::coral_env(
        &root,
        &["--check", "--format=json", "--log-level=debug", "examples"],
        &[],
    );
    let _: Value = serde_json::from_str(&common::stdout(&out)).expect("stdout is only the report");
    assert!(!common::stderr(&out).is_empty());
}

#[test]
fn explicit_model_errors_exit_2_implicit_ones_fall_back() {
    let root = common::workspace();
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nothing-here");
    let missing = missing.to_str().expect("utf-8 path");
    let out = common::coral(&root, &["--check", "--model", missing, "examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("no model found"),
        "{}",
        common::stderr(&out)
    );
    assert!(common::stdout(&out).is_empty());

    let out = common::coral_env(
        &root,
        &["--check", "--format=json", "examples"],
        &[("CORAL_MODEL_DIR", missing)],
    );
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&common::stdout(&out)).expect("JSON");
    assert_eq!(json["model"]["fallback"], true);
    assert!(
        common::stderr(&out).contains("heuristics"),
        "says so: {}",
        common::stderr(&out)
    );

    // A broken ONNX Runtime library: no panic, the heuristics, a reason.
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a library").expect("write");
    let out = common::coral_env(
        &root,
        &[
            "--check",
            "--format=json",
            "--model=server/tests/data/tiny-model",
            "examples",
        ],
        &[("ORT_DYLIB_PATH", fake.to_str().expect("utf-8"))],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "explicit --model with no usable runtime"
    );
    assert!(
        !common::stderr(&out).contains("panicked"),
        "{}",
        common::stderr(&out)
    );
    let out = common::coral_env(
        &root,
        &["--check", "--format=json", "examples"],
        &[
            ("ORT_DYLIB_PATH", fake.to_str().expect("utf-8")),
            ("CORAL_MODEL_DIR", "server/tests/data/tiny-model"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    assert!(
        common::stderr(&out).contains("ONNX Runtime"),
        "{}",
        common::stderr(&out)
    );
}

/// The HTML page on notebooks that have findings, cells without a stage and an unreadable
/// file, with reference statistics written by hand (`CORAL_MODEL_DIR` is where they are looked
/// for, and `--no-model` keeps the labels the heuristics').
#[test]
fn html_heuristics() {
    let root = common::workspace();
    let reference = root.join("server/tests/data/reference");
    let out = common::coral_env(
        &root,
        &[
            "--check",
            "--no-config",
            "--no-progress",
            "--no-model",
            "--format=html",
            "examples",
            "fixtures/notebooks/magics.ipynb",
            "fixtures/notebooks/truncated.ipynb",
        ],
        &[("CORAL_MODEL_DIR", reference.to_str().expect("utf-8 path"))],
    );
    let html = common::stdout(&out);
    check_self_contained(&html);
    assert!(html.contains("percentile of the reference corpus"));
    for cell in ["nb1-cell14", "nb1-cell9"] {
        assert!(
            html.contains(&format!("<a href=\"#{cell}\">"))
                && html.contains(&format!("<tr id=\"{cell}\">")),
            "the finding links to its cell's row: {cell}"
        );
    }
    snapshot("html_heuristics", &html, out.status.code().unwrap_or(-1));
}

/// One page that opens with no network: every link is an anchor in the page, nothing is
/// loaded, nothing runs.
fn check_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>\n"), "{html}");
    assert!(html.ends_with("</html>\n"));
    let lower = html.to_ascii_lowercase();
    for banned in [
        "http://", "https://", "<script", "url(", "@import", "<link", "<iframe",
    ] {
        assert!(!lower.contains(banned), "{banned} in the page");
    }
    for attribute in [" src=", " srcset=", " xlink:href=", " action=", " poster="] {
        assert!(!lower.contains(attribute), "{attribute} in the page");
    }
    let ids: std::collections::HashSet<&str> = html
        .split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    for value in html.split(" href=\"").skip(1) {
        let target = value.split('"').next().expect("closing quote");
        let anchor = target.strip_prefix('#');
        assert!(
            anchor.is_some_and(|a| ids.contains(a)),
            "href={target:?} is not an anchor of the page"
        );
    }
    for tag in [
        "html", "head", "body", "section", "svg", "table", "ul", "a", "title",
    ] {
        assert_eq!(
            lower.matches(&format!("<{tag}>")).count() + lower.matches(&format!("<{tag} ")).count(),
            lower.matches(&format!("</{tag}>")).count(),
            "<{tag}> opened and closed alike"
        );
    }
}

#[test]
fn html_escapes_notebook_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "<b onmouseover='x'>&amp;.ipynb";
    std::fs::copy(
        common::workspace().join("examples/regression_no_eval.ipynb"),
        dir.path().join(name),
    )
    .expect("copy");
    let out = common::coral(
        dir.path(),
        &["--check", "--no-config", "--no-model", "--format=html", "."],
    );
    let html = common::stdout(&out);
    check_self_contained(&html);
    assert!(!html.contains("<b onmouseover"), "unescaped file name");
    assert!(html.contains("&lt;b onmouseover=&#39;x&#39;&gt;&amp;amp;.ipynb"));
}

/// A scratch project: `work/` is the current folder, with one notebook named by a relative
/// path (a comma and a space in its name, for the escaping) and one by its absolute path;
/// `outside/` holds a notebook and an unreadable file in neither the folder nor the repository.
struct Scratch {
    dir: tempfile::TempDir,
    work: PathBuf,
    args: Vec<String>,
}

fn scratch() -> Scratch {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().canonicalize().expect("temp dir path");
    let work = base.join("work");
    let outside = base.join("outside");
    std::fs::create_dir_all(work.join("nb")).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    let root = common::workspace();
    let copy = |from: &str, to: &Path| {
        std::fs::copy(root.join(from), to).expect("copy fixture");
    };
    copy(
        "examples/regression_no_eval.ipynb",
        &work.join("nb/sales, q1.ipynb"),
    );
    copy(
        "fixtures/notebooks/percent_basic.py",
        &work.join("nb/basic.py"),
    );
    copy(
        "examples/regression_no_eval.ipynb",
        &outside.join("model.ipynb"),
    );
    copy(
        "fixtures/notebooks/truncated.ipynb",
        &outside.join("truncated.ipynb"),
    );
    let path = |p: PathBuf| p.to_str().expect("utf-8 path").to_owned();
    let args = vec![
        "nb/sales, q1.ipynb".to_owned(),
        path(work.join("nb/basic.py")),
        path(outside.join("model.ipynb")),
        path(outside.join("truncated.ipynb")),
    ];
    Scratch { dir, work, args }
}

impl Scratch {
    /// Runs `--check` in `work/` with `format`, with the temporary folder's path redacted.
    fn check(&self, format: &str, env: &[(&str, &str)]) -> (String, i32) {
        let (out, code) = self.check_raw(format, env);
        (self.redact(&out), code)
    }

    fn check_raw(&self, format: &str, env: &[(&str, &str)]) -> (String, i32) {
        let mut args = vec![
            "--check",
            "--no-config",
            "--no-progress",
            "--no-model",
            "--color=never",
            "--format",
            format,
        ];
        args.extend(self.args.iter().map(String::as_str));
        let out = common::coral_env(&self.work, &args, env);
        assert!(!common::stderr(&out).contains("panicked"));
        (common::stdout(&out), out.status.code().unwrap_or(-1))
    }

    fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for base in [
            self.dir.path().canonicalize().expect("temp dir"),
            self.dir.path().to_path_buf(),
        ] {
            text = text.replace(base.to_str().expect("utf-8 path"), "[TMP]");
        }
        text
    }
}

#[test]
fn paths_text() {
    let scratch = scratch();
    let (out, code) = scratch.check("text", &[]);
    snapshot("paths_text", &out, code);
}

#[test]
fn paths_json() {
    let scratch = scratch();
    let (out, code) = scratch.check("json", &[]);
    let json: Value = serde_json::from_str(&out).expect("JSON");
    let paths: Vec<&str> = json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    snapshot(
        "paths_json",
        &format!("{paths:#?}\nerrors: {}", json["errors"]),
        code,
    );
}

#[test]
fn paths_github() {
    let scratch = scratch();
    let (out, code) = scratch.check("github", &[]);
    check_annotations(&out);
    assert!(!out.contains("file%3A"), "{out}");
    snapshot("paths_github", &out, code);
}

#[test]
fn paths_github_in_a_workspace() {
    let scratch = scratch();
    let workspace = scratch.dir.path().canonicalize().expect("temp dir");
    let (out, code) = scratch.check(
        "github",
        &[("GITHUB_WORKSPACE", workspace.to_str().expect("utf-8 path"))],
    );
    check_annotations(&out);
    assert!(
        !out.contains("[TMP]"),
        "every file is in the workspace: {out}"
    );
    snapshot("paths_github_in_a_workspace", &out, code);
}

#[test]
fn paths_sarif() {
    let scratch = scratch();
    let (out, code) = scratch.check_raw("sarif", &[]);
    let sarif: Value = serde_json::from_str(&out).expect("SARIF");
    validate_sarif_schema(&sarif);
    // Where things are, not the rules and descriptions the fixture snapshots already hold.
    let run = &sarif["runs"][0];
    let places = serde_json::json!({
        "results": run["results"].as_array().expect("results").iter().map(|r| serde_json::json!({
            "ruleId": r["ruleId"],
            "locations": r["locations"],
            // An outside file's fingerprint hashes its absolute path, here a random one.
            "partialFingerprints": if r["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"]
                .as_str()
                .is_some_and(|u| u.starts_with("file://"))
            {
                Value::String("<hash of the temporary path>".into())
            } else {
                r["partialFingerprints"].clone()
            },
        })).collect::<Vec<_>>(),
        "notifications": run["invocations"][0]["toolExecutionNotifications"]
            .as_array()
            .expect("notifications")
            .iter()
            .map(|n| n["locations"].clone())
            .collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&places).expect("serialize");
    snapshot("paths_sarif", &scratch.redact(&text), code);
}

/// Fingerprints name the finding, not where its lines are: lines added above a cell move its
/// `startLine` and keep its fingerprint.
#[test]
fn sarif_fingerprints_survive_moved_lines() {
    let root = common::workspace();
    let text =
        std::fs::read_to_string(root.join("fixtures/notebooks/percent_basic.py")).expect("fixture");
    let run = |text: &str| {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("nb.py"), text).expect("write");
        let out = common::coral(
            dir.path(),
            &[
                "--check",
                "--no-config",
                "--no-model",
                "--format=sarif",
                "nb.py",
            ],
        );
        let sarif: Value = serde_json::from_str(&common::stdout(&out)).expect("SARIF");
        let result = sarif["runs"][0]["results"][0].clone();
        (
            result["partialFingerprints"].clone(),
            result["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
        )
    };
    let (first, line) = run(&text);
    let (again, same_line) = run(&text);
    let (moved, moved_line) = run(&format!("\n\n\n{text}"));
    assert!(first.is_object(), "{first}");
    assert_eq!((&first, &line), (&again, &same_line), "re-runs agree");
    assert_eq!(
        first, moved,
        "three lines above do not change the fingerprint"
    );
    assert_eq!(moved_line.as_u64(), line.as_u64().map(|l| l + 3));
}
