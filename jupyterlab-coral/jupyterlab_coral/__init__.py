"""A jupyter-lsp language-server spec for coral-lsp.

jupyter-lsp calls :func:`spec` through the ``jupyter_lsp_spec_v1`` entry point when the Jupyter
server starts; the spec tells it how to start ``coral-lsp`` (stdio) and that it serves Python.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Dict, Optional

__all__ = ["SERVER_ID", "find_coral_lsp", "spec"]

#: The key of the server in jupyter-lsp (``/lsp/status``, ``/lsp/ws/coral``) and in the
#: JupyterLab settings (``languageServers.coral.rank``).
SERVER_ID = "coral"


def find_coral_lsp() -> Optional[str]:
    """The ``coral-lsp`` executable: ``$CORAL_LSP`` when set, else the one on ``PATH``."""
    explicit = os.environ.get("CORAL_LSP")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    return shutil.which("coral-lsp")


def spec(manager: Any) -> Dict[str, Dict[str, Any]]:
    """The language-server spec, keyed by server id (empty when coral-lsp is not installed)."""
    binary = find_coral_lsp()
    if binary is None:
        return {}
    # jupyter-lsp names each notebook's virtual document after the notebook's path inside this
    # folder; coral-lsp takes it out again to find the saved .ipynb.
    virtual_dir = getattr(manager, "virtual_documents_dir", None) or ".virtual_documents"
    return {
        SERVER_ID: {
            "argv": [binary],
            "languages": ["python"],
            "version": 2,
            "display_name": "coral (data-analysis stages)",
            "mime_types": ["text/python", "text/x-ipython"],
            # coral reads the virtual document from the protocol and the .ipynb itself.
            "requires_documents_on_disk": False,
            # string.Template is applied to env values: escape a literal `$`.
            "env": {"CORAL_JUPYTER_VIRTUAL_DIR": str(virtual_dir).replace("$", "$$")},
            "install": {
                "cargo": "cargo install --path server  (in the coral repository)",
            },
            "troubleshoot": (
                "coral-lsp not found: put it on PATH or set CORAL_LSP to its path, then "
                "restart the Jupyter server. Its log goes to the server's stderr (CORAL_LOG=debug)."
            ),
        }
    }


def _is_installed(manager: Any) -> bool:
    return find_coral_lsp() is not None


# jupyter-lsp skips (and reports as not installed) a spec whose `is_installed` is false.
spec.is_installed = _is_installed  # type: ignore[attr-defined]
