//! The soak: one language server, many open notebooks, typing on a few of them at once, saves,
//! closes and reopens, for minutes. It measures edit → diagnostics latency of the edited cell
//! and the server's resident memory over time. The bench (`benches/lsp_soak.rs`) runs it for
//! ten minutes; a test (`tests/lsp_soak.rs`) runs a short version of the same code.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::lsp_process::{Lsp, Received, Spawn, Stopped, TIMEOUT};

#[derive(Debug, Clone)]
pub struct Config {
    pub spawn: Spawn,
    /// Notebooks opened.
    pub notebooks: usize,
    /// Cells per notebook, inclusive range.
    pub cells: (usize, usize),
    /// Notebooks typed in at once.
    pub active: usize,
    /// Between two keystrokes on one notebook.
    pub keystroke: Duration,
    /// How long a notebook stays active; then it is saved, closed, and reopened one rotation
    /// later.
    pub rotate: Duration,
    /// Typing time. The soak goes on past it until `min_cycles` close/reopen cycles are done.
    pub duration: Duration,
    pub min_cycles: usize,
    /// Between two RSS samples.
    pub sample: Duration,
    /// Wait after closing every notebook before the last RSS sample.
    pub settle: Duration,
    /// How long an edit may wait for its diagnostics before it counts as lost.
    pub patience: Duration,
    pub seed: u64,
}

/// One RSS sample.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since typing began.
    pub t: f64,
    pub rss_kib: u64,
    /// Notebooks open at the time.
    pub open: usize,
    /// Edits sent so far.
    pub edits: usize,
    /// The server's threads: with glibc's allocator each thread may get an arena of its own,
    /// which is where memory freed by a closed notebook can stay.
    pub threads: u64,
    /// CPU seconds the server has used since it started.
    pub cpu_secs: f64,
}

pub struct Report {
    pub notebooks: usize,
    pub cells: usize,
    pub code_cells: usize,
    /// From the first `didOpen` until every notebook's diagnostics arrived.
    pub open_secs: f64,
    /// Edit → diagnostics for the edited cell, sorted.
    pub latencies_ms: Vec<f64>,
    /// The same latencies, each with the size (cells) of the notebook edited.
    pub by_size: Vec<(usize, f64)>,
    pub edits: usize,
    /// Edits whose diagnostics never arrived.
    pub lost: usize,
    pub saves: usize,
    pub closes: usize,
    /// Reopen → diagnostics for the notebook's last code cell, sorted.
    pub reopen_ms: Vec<f64>,
    /// RSS when each close/reopen cycle (every notebook closed and reopened once) was done.
    pub cycles: Vec<Sample>,
    pub series: Vec<Sample>,
    pub rss_opened_kib: u64,
    pub rss_end_kib: u64,
    pub rss_closed_kib: u64,
    pub peak_kib: u64,
    /// Seconds of typing.
    pub soak_secs: f64,
    /// The server's `window/logMessage`s.
    pub log: Vec<String>,
    pub stopped: Stopped,
    /// Why the soak ended early, if it did.
    pub failure: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The notebooks

/// xorshift64*: deterministic notebooks and edits for a seed, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every cell of the example notebooks, in order (code: `true`).
fn pool() -> Vec<(bool, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut paths: Vec<_> = std::fs::read_dir(&root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    paths.sort();
    let mut pool = Vec::new();
    for path in paths {
        if let Ok(bytes) = std::fs::read(&path) {
            if let Ok(nb) = coral_core::Notebook::from_ipynb(&bytes) {
                pool.extend(
                    nb.cells
                        .into_iter()
                        .map(|c| (c.kind == coral_core::CellKind::Code, c.source)),
                );
            }
        }
    }
    if pool.is_empty() {
        pool.push((
            true,
            "import pandas as pd\ndf = pd.read_csv('a.csv')\ndf.head()".to_owned(),
        ));
    }
    pool
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Names the pool assigns (`x = …`, `a, b = …`): renaming them keeps each notebook's data flow
/// intact while its text, and so its model inputs, differ from every other notebook's.
fn bound_names(pool: &[(bool, String)]) -> HashSet<String> {
    let mut names = HashSet::new();
    for (_, source) in pool.iter().filter(|(code, _)| *code) {
        for line in source.lines() {
            let Some(at) = line.find('=') else { continue };
            if line[at + 1..].starts_with('=') {
                continue;
            }
            let lhs = &line[..at];
            if lhs
                .chars()
                .all(|c| is_ident(c) || matches!(c, ' ' | ',' | '(' | ')'))
            {
                names.extend(
                    lhs.split(|c: char| !is_ident(c))
                        .filter(|w| w.starts_with(is_ident_start))
                        .map(str::to_owned),
                );
            }
        }
    }
    names
}

/// `source` with every name in `names` (not after a `.`) suffixed. Strings are not told apart
/// from code: a renamed word inside one changes nothing that matters here.
fn rename(source: &str, names: &HashSet<String>, suffix: &str) -> String {
    let mut out = String::with_capacity(source.len() + 16);
    let mut chars = source.char_indices().peekable();
    let mut previous = ' ';
    while let Some((start, c)) = chars.next() {
        if is_ident_start(c) || c.is_ascii_digit() {
            let mut end = start + c.len_utf8();
            while let Some(&(i, d)) = chars.peek() {
                if !is_ident(d) {
                    break;
                }
                end = i + d.len_utf8();
                chars.next();
            }
            let word = &source[start..end];
            out.push_str(word);
            if is_ident_start(c) && previous != '.' && names.contains(word) {
                out.push_str(suffix);
            }
            previous = 'a';
        } else {
            out.push(c);
            if !c.is_whitespace() {
                previous = c;
            }
        }
    }
    out
}

struct Cell {
    code: bool,
    uri: String,
    text: String,
    version: i32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Opened; its first diagnostics have not all arrived (`reopen`: not the first open).
    Labelling {
        since: Instant,
        reopen: bool,
    },
    Ready,
    /// Saved and no longer typed in; closed once its edits have their diagnostics.
    Draining {
        until: Instant,
    },
    Closed {
        reopen_at: Instant,
    },
}

struct Notebook {
    uri: String,
    cells: Vec<Cell>,
    code: Vec<usize>,
    version: i32,
    state: State,
    /// Edits still waiting for diagnostics.
    pending: usize,
}

impl Notebook {
    fn last_code_uri(&self) -> Option<&str> {
        self.code.last().map(|&i| self.cells[i].uri.as_str())
    }

    fn is_open(&self) -> bool {
        !matches!(self.state, State::Closed { .. })
    }
}

fn make_notebooks(config: &Config, rng: &mut Rng) -> Vec<Notebook> {
    let pool = pool();
    let names = bound_names(&pool);
    let (low, high) = config.cells;
    (0..config.notebooks)
        .map(|n| {
            let uri = format!("file:///tmp/coral-soak/nb{n:03}.ipynb");
            let count = low + rng.below(high.saturating_sub(low) + 1);
            let offset = rng.below(pool.len());
            let cells: Vec<Cell> = (0..count)
                .map(|i| {
                    let at = offset + i;
                    let (code, source) = &pool[at % pool.len()];
                    // Each pass over the pool gets its own names too, so that a 500-cell
                    // notebook is not the same 58 cells nine times over.
                    let suffix = format!("_n{n}r{}", at / pool.len());
                    Cell {
                        code: *code,
                        uri: format!(
                            "vscode-notebook-cell:/tmp/coral-soak/nb{n:03}.ipynb#ch{i:04}"
                        ),
                        text: if *code {
                            rename(source, &names, &suffix)
                        } else {
                            source.clone()
                        },
                        version: 1,
                    }
                })
                .collect();
            let code = cells
                .iter()
                .enumerate()
                .filter(|(_, c)| c.code)
                .map(|(i, _)| i)
                .collect();
            Notebook {
                uri,
                cells,
                code,
                version: 1,
                state: State::Closed {
                    reopen_at: Instant::now(),
                },
                pending: 0,
            }
        })
        .collect()
}

/// Lines typed into cells, one character per keystroke; `{s}` is a per-line suffix.
const LINES: &[&str] = &[
    "total{s} = len(df)",
    "df.groupby('region').sum()",
    "summary{s} = df.describe()",
    "model{s} = LinearRegression().fit(X_train, y_train)",
    "score{s} = accuracy_score(y_test, model.predict(X_test))",
    "plt.plot(values{s})",
    "# check the outliers again ({s})",
    "data{s} = pd.read_csv('part{s}.csv')",
    "import numpy as np",
    "df = df.dropna(subset=['price'])",
];

// ---------------------------------------------------------------------------------------------
// The run

/// One notebook being typed in.
struct Slot {
    notebook: usize,
    next_key: Instant,
    /// The cell typed into and what is left to type there.
    typing: Option<(usize, VecDeque<char>)>,
}

struct Soak {
    lsp: Lsp,
    config: Config,
    rng: Rng,
    notebooks: Vec<Notebook>,
    /// Cell URI → notebook, and the edits waiting for that cell's diagnostics.
    pending: HashMap<String, (usize, VecDeque<(i32, Instant)>)>,
    latencies_ms: Vec<f64>,
    by_size: Vec<(usize, f64)>,
    reopen_ms: Vec<f64>,
    edits: usize,
    lost: usize,
    saves: usize,
    closes: usize,
    reopened: usize,
    cycles: Vec<Sample>,
    series: Vec<Sample>,
    started: Instant,
    typed_lines: usize,
}

fn rss(lsp: &Lsp) -> u64 {
    lsp.rss_kib().unwrap_or(0)
}

impl Soak {
    fn open_count(&self) -> usize {
        self.notebooks.iter().filter(|n| n.is_open()).count()
    }

    fn sample(&self) -> Sample {
        Sample {
            t: self.started.elapsed().as_secs_f64(),
            rss_kib: rss(&self.lsp),
            open: self.open_count(),
            edits: self.edits,
            threads: self.lsp.threads().unwrap_or(0),
            cpu_secs: self.lsp.cpu_secs().unwrap_or(0.0),
        }
    }

    fn open(&mut self, n: usize, reopen: bool) {
        let nb = &mut self.notebooks[n];
        nb.version += 1;
        // Versions keep rising across a close: a reopened notebook is the same document to the
        // editor, and a late message for the old one can never pass for the new one.
        for cell in &mut nb.cells {
            cell.version += 1;
        }
        self.lsp.notify(
            "notebookDocument/didOpen",
            json!({
                "notebookDocument": {
                    "uri": nb.uri, "notebookType": "jupyter-notebook", "version": nb.version,
                    "cells": nb.cells.iter().map(|c| json!({"kind": if c.code {2} else {1}, "document": c.uri})).collect::<Vec<_>>()
                },
                "cellTextDocuments": nb.cells.iter().map(|c| json!({
                    "uri": c.uri, "languageId": if c.code {"python"} else {"markdown"}, "version": c.version, "text": c.text
                })).collect::<Vec<_>>()
            }),
        );
        nb.state = if nb.code.is_empty() {
            State::Ready
        } else {
            State::Labelling {
                since: Instant::now(),
                reopen,
            }
        };
    }

    fn close(&mut self, n: usize) {
        let nb = &mut self.notebooks[n];
        if nb.pending > 0 {
            self.lost += nb.pending;
            nb.pending = 0;
            for cell in &nb.cells {
                if let Some((_, queue)) = self.pending.get_mut(&cell.uri) {
                    queue.clear();
                }
            }
        }
        self.lsp.notify(
            "notebookDocument/didClose",
            json!({
                "notebookDocument": {"uri": nb.uri},
                "cellTextDocuments": nb.cells.iter().map(|c| json!({"uri": c.uri})).collect::<Vec<_>>()
            }),
        );
        self.closes += 1;
        nb.state = State::Closed {
            reopen_at: Instant::now() + self.config.rotate,
        };
    }

    fn save(&mut self, n: usize) {
        let nb = &mut self.notebooks[n];
        self.lsp.notify(
            "notebookDocument/didSave",
            json!({"notebookDocument": {"uri": nb.uri}}),
        );
        self.saves += 1;
        nb.state = State::Draining {
            until: Instant::now() + self.config.patience,
        };
    }

    fn handle(&mut self, at: Instant, body: &Value) {
        if body.get("method").and_then(Value::as_str) != Some("textDocument/publishDiagnostics") {
            return;
        }
        let Some(uri) = body.pointer("/params/uri").and_then(Value::as_str) else {
            return;
        };
        // A close clears with no version; only a labelling result says which text it is for.
        let Some(version) = body.pointer("/params/version").and_then(Value::as_i64) else {
            return;
        };
        if let Some((n, queue)) = self.pending.get_mut(uri) {
            // One result answers every edit of the cell up to its version: edits that came
            // faster than the server labels are answered together, each with its own wait.
            while queue.front().is_some_and(|&(v, _)| i64::from(v) <= version) {
                let (_, sent) = queue.pop_front().unwrap_or((0, at));
                let ms = at.duration_since(sent).as_secs_f64() * 1000.0;
                self.latencies_ms.push(ms);
                self.by_size.push((self.notebooks[*n].cells.len(), ms));
                self.notebooks[*n].pending -= 1;
            }
        }
        let Some(n) = self
            .notebooks
            .iter()
            .position(|nb| nb.last_code_uri() == Some(uri))
        else {
            return;
        };
        if let State::Labelling { since, reopen } = self.notebooks[n].state {
            self.notebooks[n].state = State::Ready;
            if reopen {
                self.reopen_ms
                    .push(at.duration_since(since).as_secs_f64() * 1000.0);
                self.reopened += 1;
                if self.reopened.is_multiple_of(self.notebooks.len()) {
                    let sample = self.sample();
                    self.cycles.push(sample);
                }
            }
        }
    }

    /// Handles what arrives until `deadline`; `Err` when the server is gone.
    fn pump(&mut self, deadline: Instant) -> Result<(), String> {
        loop {
            match self.lsp.recv_until(deadline) {
                Received::Message(message) => self.handle(message.at, &message.body),
                Received::Timeout => return Ok(()),
                Received::Gone => return Err("the server closed its output".to_owned()),
            }
        }
    }

    fn keystroke(&mut self, slot: &mut Slot) {
        let n = slot.notebook;
        if self.notebooks[n].code.is_empty() {
            return;
        }
        if slot.typing.as_ref().is_none_or(|(_, left)| left.is_empty()) {
            let nb = &self.notebooks[n];
            let cell = nb.code[self.rng.below(nb.code.len())];
            let template = LINES[self.rng.below(LINES.len())];
            self.typed_lines += 1;
            let line = template.replace("{s}", &format!("_{n}_{}", self.typed_lines));
            slot.typing = Some((cell, format!("\n{line}").chars().collect()));
        }
        let Some((index, left)) = slot.typing.as_mut() else {
            return;
        };
        let Some(c) = left.pop_front() else { return };
        let nb = &mut self.notebooks[n];
        nb.version += 1;
        let cell = &mut nb.cells[*index];
        cell.version += 1;
        let line = cell.text.split('\n').count() - 1;
        let character = cell
            .text
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.encode_utf16().count());
        let insert = c.to_string();
        cell.text.push(c);
        let (uri, version, nb_uri, nb_version) =
            (cell.uri.clone(), cell.version, nb.uri.clone(), nb.version);
        nb.pending += 1;
        let sent = Instant::now();
        self.lsp.notify(
            "notebookDocument/didChange",
            json!({
                "notebookDocument": {"uri": nb_uri, "version": nb_version},
                "change": {"cells": {"textContent": [{
                    "document": {"uri": uri, "version": version},
                    "changes": [{"range": {"start": {"line": line, "character": character},
                                           "end": {"line": line, "character": character}},
                                 "text": insert}]
                }]}}
            }),
        );
        self.pending
            .entry(uri)
            .or_insert_with(|| (n, VecDeque::new()))
            .1
            .push_back((version, sent));
        self.edits += 1;
    }

    /// Closes drained notebooks and reopens those whose time has come.
    fn housekeeping(&mut self, now: Instant) {
        for n in 0..self.notebooks.len() {
            match self.notebooks[n].state {
                State::Draining { until } if self.notebooks[n].pending == 0 || now >= until => {
                    self.close(n);
                }
                State::Closed { reopen_at } if now >= reopen_at => self.open(n, true),
                _ => {}
            }
        }
    }

    fn next_deadline(&self, slots: &[Slot], others: &[Instant]) -> Instant {
        let mut deadline = others.iter().copied().min().unwrap_or_else(Instant::now);
        for slot in slots {
            deadline = deadline.min(slot.next_key);
        }
        for nb in &self.notebooks {
            match nb.state {
                State::Draining { until } => deadline = deadline.min(until),
                State::Closed { reopen_at } => deadline = deadline.min(reopen_at),
                _ => {}
            }
        }
        // Drained notebooks are noticed on a message or within this much.
        deadline.min(Instant::now() + Duration::from_millis(20))
    }

    /// Waits, handling messages, until `done` holds; `Err` after `TIMEOUT` with nothing from
    /// the server, or when it is gone.
    fn wait_for(&mut self, what: &str, done: impl Fn(&Soak) -> bool) -> Result<(), String> {
        let mut last = Instant::now();
        while !done(self) {
            match self
                .lsp
                .recv_until(Instant::now() + Duration::from_millis(50))
            {
                Received::Message(message) => {
                    last = Instant::now();
                    self.handle(message.at, &message.body);
                }
                Received::Timeout if last.elapsed() > TIMEOUT => {
                    return Err(format!(
                        "nothing from the server for {TIMEOUT:?} while {what}"
                    ));
                }
                Received::Timeout => {}
                Received::Gone => return Err(format!("the server exited while {what}")),
            }
            let now = Instant::now();
            self.housekeeping(now);
        }
        Ok(())
    }
}

/// Runs the soak and stops the server.
pub fn run(config: Config) -> Report {
    let mut lsp = Lsp::start("coral-lsp", &config.spawn)
        .unwrap_or_else(|| panic!("cannot start {}", config.spawn.program));
    lsp.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": "file:///tmp/coral-soak",
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "workspace": {"configuration": true, "inlayHint": {"refreshSupport": true}},
                "textDocument": {"publishDiagnostics": {}, "inlayHint": {}},
                "notebookDocument": {"synchronization": {}}
            },
            // No debounce: the latency is the server's work, not a wait it was told to make.
            "initializationOptions": {"debounceMs": 0}
        }),
    );
    lsp.notify("initialized", json!({}));
    let mut rng = Rng(config.seed | 1);
    let notebooks = make_notebooks(&config, &mut rng);
    let mut soak = Soak {
        lsp,
        rng,
        notebooks,
        pending: HashMap::new(),
        latencies_ms: Vec::new(),
        by_size: Vec::new(),
        reopen_ms: Vec::new(),
        edits: 0,
        lost: 0,
        saves: 0,
        closes: 0,
        reopened: 0,
        cycles: Vec::new(),
        series: Vec::new(),
        started: Instant::now(),
        typed_lines: 0,
        config,
    };
    let mut phases = Phases::default();
    let failure = drive(&mut soak, &mut phases).err();
    let peak_kib = soak.lsp.peak_rss_kib().unwrap_or(0);
    let log = soak.lsp.log.clone();
    let stopped = soak.lsp.stop();
    soak.latencies_ms.sort_by(f64::total_cmp);
    soak.reopen_ms.sort_by(f64::total_cmp);
    Report {
        notebooks: soak.notebooks.len(),
        cells: soak.notebooks.iter().map(|nb| nb.cells.len()).sum(),
        code_cells: soak.notebooks.iter().map(|nb| nb.code.len()).sum(),
        open_secs: phases.open_secs,
        latencies_ms: soak.latencies_ms,
        by_size: soak.by_size,
        edits: soak.edits,
        lost: soak.lost,
        saves: soak.saves,
        closes: soak.closes,
        reopen_ms: soak.reopen_ms,
        cycles: soak.cycles,
        series: soak.series,
        rss_opened_kib: phases.rss_opened_kib,
        rss_end_kib: phases.rss_end_kib,
        rss_closed_kib: phases.rss_closed_kib,
        peak_kib,
        soak_secs: phases.soak_secs,
        log,
        stopped,
        failure,
    }
}

fn all_labelled(soak: &Soak) -> bool {
    soak.notebooks.iter().all(|nb| nb.state == State::Ready)
}

#[derive(Default)]
struct Phases {
    open_secs: f64,
    rss_opened_kib: u64,
    rss_end_kib: u64,
    rss_closed_kib: u64,
    soak_secs: f64,
}

fn drive(soak: &mut Soak, phases: &mut Phases) -> Result<(), String> {
    let opening = Instant::now();
    for n in 0..soak.notebooks.len() {
        soak.open(n, false);
    }
    soak.wait_for("opening the notebooks", all_labelled)?;
    phases.open_secs = opening.elapsed().as_secs_f64();
    // Let the refreshes and the last publishes of the opening settle before the first sample.
    soak.pump(Instant::now() + Duration::from_secs(1))?;
    phases.rss_opened_kib = rss(&soak.lsp);

    soak.started = Instant::now();
    soak.series.push(soak.sample());
    let config = soak.config.clone();
    let active = config.active.min(soak.notebooks.len()).max(1);
    let mut next_pick = 0;
    let mut slots: Vec<Slot> = (0..active)
        .map(|i| {
            let slot = Slot {
                notebook: next_pick % soak.notebooks.len(),
                // Staggered, as several editors' keystrokes would be.
                next_key: soak.started + config.keystroke.mul_f64(i as f64 / active as f64),
                typing: None,
            };
            next_pick += 1;
            slot
        })
        .collect();
    let mut next_sample = soak.started + config.sample;
    let mut next_rotate = soak.started + config.rotate;
    let hard_stop = soak.started + config.duration * 3 + Duration::from_mins(1);
    loop {
        let now = Instant::now();
        let typed_enough = now >= soak.started + config.duration;
        if (typed_enough && soak.cycles.len() >= config.min_cycles) || now >= hard_stop {
            break;
        }
        for slot in &mut slots {
            if slot.next_key > now {
                continue;
            }
            if soak.notebooks[slot.notebook].state == State::Ready {
                soak.keystroke(slot);
            }
            slot.next_key += config.keystroke;
            // A client that fell behind types on from now instead of sending a burst.
            if slot.next_key + config.keystroke < now {
                slot.next_key = now + config.keystroke;
            }
        }
        if now >= next_sample {
            soak.series.push(soak.sample());
            next_sample += config.sample;
        }
        if now >= next_rotate {
            for slot in &mut slots {
                if soak.notebooks[slot.notebook].state == State::Ready {
                    soak.save(slot.notebook);
                }
                slot.notebook = next_pick % soak.notebooks.len();
                slot.typing = None;
                next_pick += 1;
            }
            next_rotate += config.rotate;
        }
        soak.housekeeping(now);
        let deadline = soak.next_deadline(&slots, &[next_sample, next_rotate]);
        soak.pump(deadline)?;
    }
    phases.soak_secs = soak.started.elapsed().as_secs_f64();

    // Every edit gets its chance to be answered, then every notebook is opened (so that all
    // are, as at the start) and labelled, for the end-of-soak sample.
    for slot in &slots {
        if soak.notebooks[slot.notebook].state == State::Ready {
            soak.save(slot.notebook);
        }
    }
    soak.wait_for("answering the last edits", |s| {
        s.notebooks
            .iter()
            .all(|nb| !matches!(nb.state, State::Draining { .. }))
    })?;
    for n in 0..soak.notebooks.len() {
        if let State::Closed { .. } = soak.notebooks[n].state {
            soak.open(n, true);
        }
    }
    soak.wait_for("reopening the last notebooks", all_labelled)?;
    soak.pump(Instant::now() + Duration::from_secs(1))?;
    phases.rss_end_kib = rss(&soak.lsp);
    soak.series.push(soak.sample());

    for n in 0..soak.notebooks.len() {
        soak.close(n);
    }
    soak.pump(Instant::now() + config.settle)?;
    phases.rss_closed_kib = rss(&soak.lsp);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The report

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Report {
    /// Stderr lines that report a panic.
    pub fn panics(&self) -> Vec<&str> {
        self.stopped
            .stderr
            .iter()
            .map(String::as_str)
            .filter(|l| l.contains("panicked"))
            .collect()
    }

    /// What the server said it labels with (its `coral: model …` / `coral: no model …` line).
    pub fn engine_note(&self) -> &str {
        self.log
            .iter()
            .find(|l| l.starts_with("coral: model") || l.starts_with("coral: no model"))
            .map_or("", String::as_str)
    }

    /// The table, the RSS series (one row per `every`) and the summary lines.
    pub fn render(&self, config: &Config, every: Duration) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "lsp_soak: {} notebooks ({} cells, {} code), {} typed in at once (one keystroke per {} ms each), rotated every {} s: saved, closed, reopened {} s later; debounceMs 0, so latency is the server's work",
            self.notebooks,
            self.cells,
            self.code_cells,
            config.active,
            config.keystroke.as_millis(),
            config.rotate.as_secs_f64(),
            config.rotate.as_secs_f64(),
        );
        let _ = writeln!(out, "  {}", self.engine_note());
        let _ = writeln!(
            out,
            "opened and labelled in {:.1} s; typed for {:.0} s: {} edits, {} without diagnostics, {} saves, {} closes and reopens, {} full close/reopen cycles",
            self.open_secs,
            self.soak_secs,
            self.edits,
            self.lost,
            self.saves,
            self.closes,
            self.cycles.len()
        );
        let _ = writeln!(
            out,
            "{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}",
            "", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        // Labelling work grows with the notebook, so the latency is split by its size too.
        let mut rows = vec![("edit → diagnostics".to_owned(), self.latencies_ms.clone())];
        let (low, high) = config.cells;
        let mut from = low / 100 * 100;
        while from <= high {
            let mut samples: Vec<f64> = self
                .by_size
                .iter()
                .filter(|(cells, _)| (from..from + 100).contains(cells))
                .map(|&(_, ms)| ms)
                .collect();
            if !samples.is_empty() {
                samples.sort_by(f64::total_cmp);
                rows.push((format!("  {from}–{} cells", from + 99), samples));
            }
            from += 100;
        }
        rows.push(("reopen → labelled".to_owned(), self.reopen_ms.clone()));
        for (name, samples) in &rows {
            let _ = writeln!(
                out,
                "{name:<22} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                samples.len(),
                percentile(samples, 50.0),
                percentile(samples, 95.0),
                percentile(samples, 99.0),
                samples.last().copied().unwrap_or(f64::NAN),
            );
        }
        let _ = writeln!(
            out,
            "RSS every {} s: {:>7} {:>9} {:>5} {:>7} {:>8} {:>7}",
            every.as_secs(),
            "t s",
            "RSS MiB",
            "open",
            "edits",
            "threads",
            "CPU s"
        );
        let mut next = 0.0;
        for (i, s) in self.series.iter().enumerate() {
            if s.t + 0.5 >= next || i + 1 == self.series.len() {
                let _ = writeln!(
                    out,
                    "{:>21} {:>9.1} {:>5} {:>7} {:>8} {:>7.1}",
                    format!("{:.0}", s.t),
                    mib(s.rss_kib),
                    s.open,
                    s.edits,
                    s.threads,
                    s.cpu_secs
                );
                next = s.t + every.as_secs_f64();
            }
        }
        if let (Some(low), Some(high)) = (
            self.series.iter().map(|s| s.rss_kib).min(),
            self.series.iter().map(|s| s.rss_kib).max(),
        ) {
            let _ = writeln!(
                out,
                "RSS over the soak ({} samples): min {:.1} MiB, max {:.1} MiB",
                self.series.len(),
                mib(low),
                mib(high)
            );
        }
        // The last sample taken while typing: the end of the soak reopens notebooks too.
        let typing_end = self.series.iter().rev().find(|s| s.t <= self.soak_secs);
        if let (Some(first), Some(last)) = (self.series.first(), typing_end) {
            let cpu = last.cpu_secs - first.cpu_secs;
            let _ = writeln!(
                out,
                "server CPU while typing: {cpu:.1} s in {:.0} s ({:.2} cores busy on average), {:.1} ms per edit",
                last.t - first.t,
                cpu / (last.t - first.t).max(1e-9),
                cpu * 1000.0 / (last.edits.max(1) as f64)
            );
        }
        let cycles: Vec<String> = self
            .cycles
            .iter()
            .map(|s| format!("{:.1} (t {:.0} s)", mib(s.rss_kib), s.t))
            .collect();
        let _ = writeln!(
            out,
            "RSS after each close/reopen cycle, MiB: {}",
            cycles.join(", ")
        );
        let _ = writeln!(
            out,
            "RSS: {:.1} MiB after all opened, {:.1} MiB at the end of the soak (all open), {:.1} MiB {:.0} s after closing all; peak {:.1} MiB",
            mib(self.rss_opened_kib),
            mib(self.rss_end_kib),
            mib(self.rss_closed_kib),
            config.settle.as_secs_f64(),
            mib(self.peak_kib)
        );
        let _ = writeln!(
            out,
            "server: {}; stderr {} lines, {} panics{}",
            self.stopped.status.map_or_else(
                || "killed: no exit after shutdown/exit".to_owned(),
                |s| s.to_string()
            ),
            self.stopped.stderr.len(),
            self.panics().len(),
            self.failure
                .as_ref()
                .map_or_else(String::new, |f| format!("; FAILED: {f}"))
        );
        out
    }
}
