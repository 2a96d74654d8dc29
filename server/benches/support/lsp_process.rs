//! A language server process on stdio and a minimal LSP client for it, shared by the latency
//! and soak benches and by the soak test: they drive the built `coral-lsp` exactly as an editor
//! would, so that what they measure includes the framing, the pipes and the process.

// Each includer uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long [`Lsp::recv`] waits before it takes the server for hung.
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Message {
    /// When the reader thread had the whole message: the latency clock stops here, not when
    /// the main thread gets round to it.
    pub at: Instant,
    pub body: Value,
}

impl Message {
    pub fn method(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }
}

/// How the server ended.
pub struct Stopped {
    /// `None`: it did not exit within a few seconds of `exit` and was killed.
    pub status: Option<ExitStatus>,
    /// Its whole stderr (empty unless it was captured).
    pub stderr: Vec<String>,
}

/// What [`Lsp::recv_until`] got.
pub enum Received {
    Message(Message),
    Timeout,
    /// The server closed stdout: it exited or crashed.
    Gone,
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub program: String,
    pub args: Vec<String>,
    /// `CORAL_LOG` / `RUST_LOG` for the process.
    pub log_level: String,
    /// Keep the server's stderr (for panics and log lines) instead of discarding it.
    pub capture_stderr: bool,
    pub env: Vec<(String, String)>,
}

impl Spawn {
    pub fn new(program: &str, args: &[&str]) -> Spawn {
        Spawn {
            program: program.to_owned(),
            args: args.iter().map(|&a| a.to_owned()).collect(),
            log_level: "warn".to_owned(),
            capture_stderr: false,
            env: Vec::new(),
        }
    }
}

/// An LSP server process and a minimal client for it.
pub struct Lsp {
    pub name: String,
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    incoming: Receiver<Message>,
    next_id: i64,
    /// `window/logMessage` texts, in order.
    pub log: Vec<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

pub fn send(stdin: &Mutex<ChildStdin>, message: &Value) {
    let body = serde_json::to_vec(message).unwrap();
    let mut stdin = stdin.lock().unwrap();
    let _ = write!(stdin, "Content-Length: {}\r\n\r\n", body.len());
    let _ = stdin.write_all(&body);
    let _ = stdin.flush();
}

/// One framed JSON-RPC message from the server, `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// An editor answers the server's requests (configuration, refresh, registration) at once;
/// a server left waiting would stall or time out, which is not what is measured.
fn answer_request(stdin: &Mutex<ChildStdin>, body: &Value) {
    let (Some(id), Some(method)) = (body.get("id"), body.get("method").and_then(Value::as_str))
    else {
        return;
    };
    let result = if method == "workspace/configuration" {
        let n = body
            .pointer("/params/items")
            .and_then(Value::as_array)
            .map_or(1, Vec::len);
        Value::Array(vec![Value::Null; n])
    } else {
        Value::Null
    };
    send(
        stdin,
        &json!({"jsonrpc": "2.0", "id": id, "result": result}),
    );
}

impl Lsp {
    pub fn spawn(name: &str, program: &str, args: &[&str]) -> Option<Lsp> {
        Lsp::start(name, &Spawn::new(program, args))
    }

    pub fn start(name: &str, how: &Spawn) -> Option<Lsp> {
        let mut child = Command::new(&how.program)
            .args(&how.args)
            .env("CORAL_LOG", &how.log_level)
            .env("RUST_LOG", &how.log_level)
            .envs(how.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if how.capture_stderr {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .spawn()
            .ok()?;
        let stdin = Arc::new(Mutex::new(child.stdin.take()?));
        let stdout = child.stdout.take()?;
        let (tx, incoming) = mpsc::channel();
        let answer = stdin.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(body) = read_message(&mut reader) {
                let at = Instant::now();
                answer_request(&answer, &body);
                if tx.send(Message { at, body }).is_err() {
                    return;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        // A pipe nobody reads fills up and blocks the server's logging, so it is drained
        // all the time, not at the end.
        let stderr_reader = child.stderr.take().map(|pipe| {
            let lines = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { return };
                    lines.lock().unwrap().push(line);
                }
            })
        });
        Some(Lsp {
            name: name.to_owned(),
            child,
            stdin,
            incoming,
            next_id: 0,
            log: Vec::new(),
            stderr,
            stderr_reader,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn notify(&self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        message["params"] = params;
        send(&self.stdin, &message);
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        message["params"] = params;
        send(&self.stdin, &message);
        loop {
            let message = self.recv().expect("response");
            if message.body.get("id").and_then(Value::as_i64) == Some(id)
                && message.body.get("method").is_none()
            {
                return message.body.get("result").cloned().unwrap_or(Value::Null);
            }
        }
    }

    fn note(&mut self, message: &Message) {
        if message.method() == Some("window/logMessage") {
            if let Some(text) = message
                .body
                .pointer("/params/message")
                .and_then(Value::as_str)
            {
                self.log.push(text.to_owned());
            }
        }
    }

    pub fn recv(&mut self) -> Option<Message> {
        match self.incoming.recv_timeout(TIMEOUT) {
            Ok(message) => {
                self.note(&message);
                Some(message)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next message, waiting no later than `deadline`.
    pub fn recv_until(&mut self, deadline: Instant) -> Received {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(wait) {
            Ok(message) => {
                self.note(&message);
                Received::Message(message)
            }
            Err(RecvTimeoutError::Timeout) => Received::Timeout,
            Err(RecvTimeoutError::Disconnected) => Received::Gone,
        }
    }

    /// Waits for publishDiagnostics for `uri`; returns when it arrived.
    pub fn wait_diagnostics(&mut self, uri: &str) -> Option<Instant> {
        loop {
            let message = self.recv()?;
            if message.method() == Some("textDocument/publishDiagnostics")
                && message.body.pointer("/params/uri").and_then(Value::as_str) == Some(uri)
            {
                return Some(message.at);
            }
        }
    }

    pub fn drain(&mut self, quiet: Duration) {
        while let Ok(message) = self.incoming.recv_timeout(quiet) {
            drop(message);
        }
    }

    /// A number from `/proc/<pid>/status` (in kB for the memory fields).
    fn status_field(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    pub fn peak_rss_kib(&self) -> Option<u64> {
        self.status_field("VmHWM:")
    }

    /// Resident memory now.
    pub fn rss_kib(&self) -> Option<u64> {
        self.status_field("VmRSS:")
    }

    /// CPU time the server has used (user + system), in seconds.
    pub fn cpu_secs(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The command name (field 2) may hold spaces; the fields after it do not.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
        // utime and stime are fields 14 and 15 of the line, 11 and 12 (from 0) after the name; they
        // count USER_HZ ticks, which Linux fixes at 100 a second for /proc.
        Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
    }

    /// The server's threads now.
    pub fn threads(&self) -> Option<u64> {
        self.status_field("Threads:")
    }

    /// The server's stderr so far (empty unless it was captured).
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// `shutdown`, then `exit`, as an editor ends a session.
    pub fn stop(mut self) -> Stopped {
        self.next_id += 1;
        let id = self.next_id;
        send(
            &self.stdin,
            &json!({"jsonrpc": "2.0", "id": id, "method": "shutdown"}),
        );
        // A server that answers `shutdown` has finished with the session; one that never does
        // gets `exit` anyway, and is killed below if that does not end it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Received::Message(message) = self.recv_until(deadline) {
            if message.body.get("id").and_then(Value::as_i64) == Some(id)
                && message.body.get("method").is_none()
            {
                break;
            }
        }
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(5);
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        Stopped {
            status,
            stderr: self.stderr(),
        }
    }
}
