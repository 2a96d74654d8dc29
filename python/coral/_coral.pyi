"""Type stub of the extension module ``coral._coral`` (re-exported by ``coral``)."""

from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, TypedDict, Union

__version__: str
FEATURIZER_VERSION: str

Stage = Literal["IMPORT", "WRANGLE", "EXPLORE", "MODEL", "EVALUATE"]
NotebookInput = Union[str, bytes, Mapping[str, Any]]

class CellResult(TypedDict, total=False):
    index: int
    """Position in the notebook's cell list, markdown and raw cells included."""
    stage: Optional[Stage]
    """None for an empty cell (or, under the heuristics, a cell no rule covers)."""
    probabilities: Dict[Stage, float]
    """Present only when the model labelled the cell; rounded to 4 decimals."""
    source: Literal["model", "heuristic"]
    heuristic_rule: Optional[str]
    lines: int

class Summary(TypedDict):
    stage_shares: Dict[Stage, float]
    entropy: float
    normalized_entropy: float
    transition_rate: float

class Finding(TypedDict):
    rule: str
    severity: Literal["info", "warning", "error"]
    message: str
    cell: Optional[int]

class NotebookResult(TypedDict):
    """One file object of ``coral-lsp --check --format json``."""

    path: str
    cells: List[CellResult]
    summary: Summary
    findings: List[Finding]

class NotebookError(TypedDict):
    """In ``label_batch(..., errors="return")``, in place of an unreadable notebook."""

    path: str
    error: str

class ModelInfo(TypedDict):
    path: Optional[str]
    featurizer_version: str
    device: str
    provider: Optional[str]
    fallback: bool
    fallback_reason: Optional[str]
    max_len: int
    vocab_sha256: Optional[str]

class CoralError(ValueError):
    """A notebook, model or setting coral cannot use."""

    notebook: Optional[str]
    """The notebook's name, when the error is about one."""

class Labeler:
    def __init__(
        self,
        model_dir: Optional[str] = None,
        device: Literal["auto", "cpu", "cuda", "gpu"] = "auto",
        threads: Optional[int] = None,
        *,
        use_model: bool = True,
        sessions: Optional[int] = None,
        batch_size: int = 32,
        seeds: Optional[str] = None,
        min_entropy: Optional[float] = None,
        require_stages: Sequence[str] = (),
    ) -> None: ...
    def label_notebook(
        self, notebook: NotebookInput, name: Optional[str] = None
    ) -> NotebookResult: ...
    def label_script(self, text: str, name: Optional[str] = None) -> NotebookResult: ...
    def label_batch(
        self,
        notebooks: Sequence[NotebookInput],
        names: Optional[Sequence[str]] = None,
        errors: Literal["raise", "return"] = "raise",
    ) -> List[Union[NotebookResult, NotebookError]]: ...
    @property
    def model_info(self) -> ModelInfo: ...
    @property
    def has_model(self) -> bool: ...
    @property
    def fallback_reason(self) -> Optional[str]: ...
    @property
    def threads(self) -> int: ...
    def stats(self) -> Dict[str, int]: ...

def ort_library() -> Optional[str]: ...
def _set_package_paths(model: Optional[str] = None, ort: Sequence[str] = ()) -> None: ...
