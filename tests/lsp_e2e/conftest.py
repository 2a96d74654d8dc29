"""Fixtures: a real `coral-lsp` process driven by pytest-lsp's LanguageClient (pygls)."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import sys
from dataclasses import dataclass, field

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = os.environ.get("CORAL_LSP") or str(ROOT / "target" / "debug" / "coral-lsp")
TIMEOUT = 30.0


def capabilities(encodings: list[str] | None = None) -> types.ClientCapabilities:
    """A VS Code-like client: notebook sync, inlay hint refresh, workspace configuration."""
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=encodings if encodings is not None else ["utf-16"]
        ),
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(
                dynamic_registration=True
            ),
            inlay_hint=types.InlayHintWorkspaceClientCapabilities(refresh_support=True),
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(),
            hover=types.HoverClientCapabilities(
                content_format=[types.MarkupKind.Markdown]
            ),
            inlay_hint=types.InlayHintClientCapabilities(),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                version_support=True
            ),
        ),
        notebook_document=types.NotebookDocumentClientCapabilities(
            synchronization=types.NotebookDocumentSyncClientCapabilities()
        ),
    )


@dataclass
class Refreshes:
    """Counts `workspace/inlayHint/refresh` requests: the server sends one when a labelling
    result has landed (after its diagnostics)."""

    count: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def hit(self) -> None:
        self.count += 1
        self.event.set()

    async def wait(self, at_least: int, timeout: float = TIMEOUT) -> None:
        async def loop():
            while self.count < at_least:
                self.event.clear()
                await self.event.wait()

        await asyncio.wait_for(loop(), timeout)


def attach_refresh_counter(client: LanguageClient) -> Refreshes:
    refreshes = Refreshes()

    @client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def _refresh(_params):
        refreshes.hit()
        return None

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(_params):
        return None

    return refreshes


CONFIG = ClientServerConfig(server_command=[SERVER], server_env={**os.environ, "CORAL_LOG": "warn"})


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    """A server on the heuristics (deterministic whether or not a model ships), debounce 0."""
    lsp_client.refreshes = attach_refresh_counter(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            initialization_options={"useModel": False, "debounceMs": 0},
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def debounced_client(lsp_client: LanguageClient):
    """As `client`, with the default debounce."""
    lsp_client.refreshes = attach_refresh_counter(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            initialization_options={"useModel": False},
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def utf8_client(lsp_client: LanguageClient):
    """A client offering UTF-8 positions (as Neovim does)."""
    lsp_client.refreshes = attach_refresh_counter(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(["utf-8", "utf-16"]),
            initialization_options={"useModel": False, "debounceMs": 0},
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def model_client(lsp_client: LanguageClient):
    """The server with its default engine: the shipped model when ONNX Runtime is found."""
    lsp_client.refreshes = attach_refresh_counter(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            initialization_options={"debounceMs": 0},
        )
    )
    yield
    await lsp_client.shutdown_session()


def load_ipynb(path: pathlib.Path) -> list[tuple[str, str]]:
    """(kind, source) per cell of an .ipynb."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in data["cells"]:
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        cells.append(("code" if cell["cell_type"] == "code" else "markdown", source))
    return cells


class Notebook:
    """The client's copy of a notebook, making the notifications an editor sends."""

    def __init__(self, name: str, cells: list[tuple[str, str]]):
        self.uri = f"file:///work/{name}"
        self.version = 1
        self._next = 0
        self.cells: list[list] = []  # [uri, kind, text, version]
        for kind, text in cells:
            self.cells.append([self._new_uri(), kind, text, 1])

    def _new_uri(self) -> str:
        uri = f"vscode-notebook-cell:/work/nb.ipynb#c{self._next}"
        self._next += 1
        return uri

    @staticmethod
    def _cell(uri: str, kind: str) -> types.NotebookCell:
        return types.NotebookCell(
            kind=types.NotebookCellKind.Code if kind == "code" else types.NotebookCellKind.Markup,
            document=uri,
        )

    @staticmethod
    def _item(uri: str, kind: str, text: str, version: int) -> types.TextDocumentItem:
        return types.TextDocumentItem(
            uri=uri,
            language_id="python" if kind == "code" else "markdown",
            version=version,
            text=text,
        )

    def uri_of(self, index: int) -> str:
        return self.cells[index][0]

    def did_open(self) -> types.DidOpenNotebookDocumentParams:
        return types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=self.uri,
                notebook_type="jupyter-notebook",
                version=self.version,
                cells=[self._cell(u, k) for u, k, _, _ in self.cells],
            ),
            cell_text_documents=[self._item(u, k, t, v) for u, k, t, v in self.cells],
        )

    def _change(self, cells: types.NotebookDocumentCellChanges, version: int | None = None):
        return types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(
                version=self.version if version is None else version, uri=self.uri
            ),
            change=types.NotebookDocumentChangeEvent(cells=cells),
        )

    def edit(self, index: int, start: tuple[int, int], end: tuple[int, int], text: str,
             version: int | None = None):
        """A ranged edit of one cell (UTF-16 positions); updates the local copy."""
        self.version += 1
        cell = self.cells[index]
        cell[3] += 1
        cell[2] = apply_edit(cell[2], start, end, text)
        return self._change(
            types.NotebookDocumentCellChanges(
                text_content=[
                    types.NotebookDocumentCellContentChanges(
                        document=types.VersionedTextDocumentIdentifier(uri=cell[0], version=cell[3]),
                        changes=[
                            types.TextDocumentContentChangePartial(
                                range=types.Range(
                                    start=types.Position(*start), end=types.Position(*end)
                                ),
                                text=text,
                            )
                        ],
                    )
                ]
            ),
            version,
        )

    def set_text(self, index: int, text: str):
        old = self.cells[index][2].split("\n")
        return self.edit(index, (0, 0), (len(old) - 1, len(old[-1].encode("utf-16-le")) // 2), text)

    def insert(self, index: int, kind: str, text: str):
        self.version += 1
        uri = self._new_uri()
        self.cells.insert(index, [uri, kind, text, 1])
        return self._change(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(
                        start=index, delete_count=0, cells=[self._cell(uri, kind)]
                    ),
                    did_open=[self._item(uri, kind, text, 1)],
                )
            )
        )

    def move(self, source: int, target: int):
        self.version += 1
        cell = self.cells.pop(source)
        self.cells.insert(target, cell)
        lo, hi = min(source, target), max(source, target) + 1
        return self._change(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(
                        start=lo,
                        delete_count=hi - lo,
                        cells=[self._cell(u, k) for u, k, _, _ in self.cells[lo:hi]],
                    )
                )
            )
        )

    def delete(self, index: int):
        self.version += 1
        uri = self.cells.pop(index)[0]
        return self._change(
            types.NotebookDocumentCellChanges(
                structure=types.NotebookDocumentCellChangeStructure(
                    array=types.NotebookCellArrayChange(start=index, delete_count=1),
                    did_close=[types.TextDocumentIdentifier(uri=uri)],
                )
            )
        )

    def did_close(self) -> types.DidCloseNotebookDocumentParams:
        return types.DidCloseNotebookDocumentParams(
            notebook_document=types.NotebookDocumentIdentifier(uri=self.uri),
            cell_text_documents=[types.TextDocumentIdentifier(uri=u) for u, _, _, _ in self.cells],
        )


def apply_edit(text: str, start: tuple[int, int], end: tuple[int, int], new: str) -> str:
    """Applies an edit given in UTF-16 positions."""

    def offset(line: int, character: int) -> int:
        lines = text.split("\n")
        before = sum(len(l) + 1 for l in lines[:line])
        units, chars = 0, 0
        for ch in lines[line]:
            if units >= character:
                break
            units += 2 if ord(ch) > 0xFFFF else 1
            chars += 1
        return before + chars

    return text[: offset(*start)] + new + text[offset(*end):]


async def hints(client: LanguageClient, uri: str, lines: int = 1000) -> list[types.InlayHint]:
    result = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(0, 0), end=types.Position(lines, 0)),
        )
    )
    return result or []


async def hint_label(client: LanguageClient, uri: str) -> str | None:
    found = await hints(client, uri)
    return found[0].label if found else None


def codes(client: LanguageClient, uri: str) -> list[str]:
    return [str(d.code) for d in client.diagnostics.get(uri, [])]


def log(*args):
    print(*args, file=sys.stderr)
