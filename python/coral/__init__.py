"""coral: label each code cell of a Jupyter notebook with its data-analysis stage.

The engine of ``coral-lsp --check`` as a Python package::

    import coral
    labeler = coral.Labeler()
    result = labeler.label_notebook(open("analysis.ipynb").read(), name="analysis.ipynb")
    [cell["stage"] for cell in result["cells"]]

``label_notebook`` returns the notebook's file object of ``coral-lsp --check --format json``
(``path``, ``cells``, ``summary``, ``findings``), computed by the same Rust code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import List, Optional

from . import _coral
from ._coral import FEATURIZER_VERSION, CoralError, Labeler, __version__, ort_library

__all__ = [
    "FEATURIZER_VERSION",
    "STAGES",
    "CoralError",
    "Labeler",
    "__version__",
    "ort_library",
]

#: The five stages, in the order of each cell's ``probabilities``.
STAGES = ("IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE")


def _bundled_model() -> Optional[Path]:
    """The model shipped inside the wheel (absent in a source tree without the links)."""
    folder = Path(__file__).resolve().parent / "_model"
    return folder if (folder / "coral.onnx").is_file() else None


def _onnxruntime_libraries() -> List[Path]:
    """ONNX Runtime libraries of an installed ``onnxruntime`` wheel, found without importing
    it (its Python half is not needed, and importing it would load a second copy)."""
    try:
        spec = importlib.util.find_spec("onnxruntime")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    found: List[Path] = []
    for location in spec.submodule_search_locations:
        capi = Path(location) / "capi"
        # The unversioned name first, as ort's loader expects; then the versioned file.
        found += sorted(capi.glob("libonnxruntime.so*"), key=lambda p: len(p.name))
        found += sorted(capi.glob("libonnxruntime*.dylib")) + sorted(capi.glob("onnxruntime.dll"))
    return [p for p in found if p.is_file()]


_coral._set_package_paths(
    str(_bundled_model()) if _bundled_model() else None,
    [str(p) for p in _onnxruntime_libraries()],
)
