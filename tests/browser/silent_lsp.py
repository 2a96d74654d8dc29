#!/usr/bin/env python3
"""A language server that publishes nothing: the negative control of the browser tests.

It speaks just enough LSP over stdio for a client to connect (answers `initialize` with
full-text sync and a hover provider, `shutdown` and any other request with null, exits on
`exit`) and never sends `textDocument/publishDiagnostics`, hover text or inlay hints.
It answers `--version` as a coral-lsp would, so the VS Code extension starts it too. With
`CORAL_LSP` pointing here both browser tests must fail:

    CORAL_LSP=tests/browser/silent_lsp.py CORAL_CHECK=target/debug/coral-lsp tests/browser/run.sh
"""

from __future__ import annotations

import json
import sys


def read_message(stream) -> dict | None:
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return None
    return json.loads(stream.read(length).decode("utf-8"))


def write_message(stream, message: dict) -> None:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stream.flush()


def main() -> int:
    if "--version" in sys.argv[1:]:
        print("silent-lsp 0.0.0 (publishes nothing)")
        return 0
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        message = read_message(stdin)
        if message is None or message.get("method") == "exit":
            return 0
        if "id" not in message or "method" not in message:
            continue  # a notification, or an answer to a request we never sent
        result = None
        if message["method"] == "initialize":
            result = {
                "capabilities": {"textDocumentSync": 1, "hoverProvider": True},
                "serverInfo": {"name": "silent-lsp", "version": "0.0.0"},
            }
        write_message(stdout, {"id": message["id"], "result": result})


if __name__ == "__main__":
    sys.exit(main())
