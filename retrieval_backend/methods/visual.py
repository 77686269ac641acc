"""``visual``: frames sampled with PyAV, embedded by a torch video encoder (one vector per clip).

A research team gives its encoder by path in the method's parameters:

- ``{"checkpoint": "/models/enc.pt"}``: a TorchScript file (``torch.jit.save``);
- ``{"checkpoint": "/models/enc.pt2"}``: a ``torch.export`` program (``torch.export.save``), exported
  with a dynamic batch dimension;
- ``{"checkpoint": "/models/enc.pth", "module": "their_pkg.models:Encoder",
  "module_kwargs": {...}}``: a state dict, loaded into that class.

The encoder receives float frames in [0, 1] (then ``mean``/``std``
normalised when given), shaped (batch, T, 3, H, W), or (batch, 3, T, H, W)
with ``"layout": "BCTHW"``, and returns (batch, dim). Without a checkpoint the
backend uses a training-free appearance-and-motion descriptor: a weak
baseline, and the admin says so.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from retrieval_backend.methods.base import (
    BackendParamsError,
    ClipItem,
    Encoded,
    QueryItem,
    RetrievalBackend,
    positive_int,
)

_LAYOUTS = ("BTCHW", "BCTHW")
_encoders: dict[tuple[Any, ...], tuple[Any, int]] = {}
_lock = threading.Lock()


class VisualBackend(RetrievalBackend):
    name = "visual"
    description = "Sampled frames embedded by a torch video encoder (TorchScript or state dict given by path)."
    PARAMS: ClassVar[dict[str, str]] = {
        "checkpoint": "path of a TorchScript file or a state dict; empty = the weak appearance-and-motion baseline",
        "module": '"package.module:Class" to build before loading a state dict',
        "module_kwargs": "keyword arguments for that class (an object)",
        "frames": "frames sampled per clip (default 16)",
        "size": "[height, width] of the sampled frames (default [112, 112]; the baseline uses [24, 32])",
        "layout": '"BTCHW" (default) or "BCTHW": the tensor layout the encoder expects',
        "mean": "per-channel mean subtracted from the [0, 1] frames, e.g. [0.45, 0.45, 0.45]",
        "std": "per-channel standard deviation the frames are divided by",
        "batch_size": "clips per forward pass (default 16; 64 on a GPU is typical)",
    }
    QUERY_TIME_PARAMS = frozenset({"batch_size"})
    chunk_size = 128

    @classmethod
    def clean_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        checkpoint = params.get("checkpoint", "")
        if not isinstance(checkpoint, str):
            raise BackendParamsError(f"checkpoint must be a file path (text), not {checkpoint!r}.")
        if checkpoint and not Path(checkpoint).expanduser().is_file():
            raise BackendParamsError(f"checkpoint {checkpoint!r} is not a file on this machine: give the full path.")
        module = params.get("module", "")
        if module and (not isinstance(module, str) or module.count(":") != 1):
            raise BackendParamsError(f'module must look like "package.module:Class", not {module!r}.')
        if module and not checkpoint:
            raise BackendParamsError("module is given without a checkpoint: add the state dict's path as checkpoint.")
        kwargs = params.get("module_kwargs", {})
        if not isinstance(kwargs, dict):
            raise BackendParamsError(f"module_kwargs must be an object of keyword arguments, not {kwargs!r}.")
        size = params.get("size", [112, 112] if checkpoint else [24, 32])
        if (
            not isinstance(size, list | tuple)
            or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and 8 <= s <= 1024 for s in size)
        ):
            raise BackendParamsError(f"size must be [height, width], whole numbers from 8 to 1024, not {size!r}.")
        layout = params.get("layout", "BTCHW")
        if layout not in _LAYOUTS:
            raise BackendParamsError(f'layout must be "BTCHW" or "BCTHW", not {layout!r}.')
        for key in ("mean", "std"):
            value = params.get(key)
            if value is not None and (
                not isinstance(value, list)
                or len(value) != 3
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
                or (key == "std" and any(v <= 0 for v in value))
            ):
                raise BackendParamsError(f"{key} must be a list of three numbers (one per RGB channel), not {value!r}.")
        params.update(
            checkpoint=checkpoint,
            module=module or "",
            module_kwargs=kwargs,
            size=list(size),
            layout=layout,
            frames=positive_int(params, "frames", 16, maximum=256),
            batch_size=positive_int(params, "batch_size", 16, maximum=1024),
        )
        return params

    @classmethod
    def weak_baseline_warning(cls, params: dict[str, Any]) -> str:
        if params.get("checkpoint"):
            return ""
        return (
            "Weak baseline: no checkpoint is set, so clips are compared by a training-free colour, layout and "
            "motion descriptor, not by a trained video model. Set checkpoint to use a real encoder."
        )

    def embedding_params(self) -> dict[str, Any]:
        params = super().embedding_params()
        if self.params["checkpoint"]:
            # A retrained checkpoint at the same path must start a new embedding run.
            stat = Path(self.params["checkpoint"]).expanduser().stat()
            params["checkpoint_stamp"] = [stat.st_size, stat.st_mtime_ns]
        return params

    # --- encoder -----------------------------------------------------------

    def _encoder(self) -> tuple[Any, int, Any]:
        """(model or None for the baseline, dim, device)."""
        from retrieval_backend.methods.devices import torch_device

        device = torch_device()
        if not self.params["checkpoint"]:
            from retrieval_backend.methods.appearance_motion import DESCRIPTOR_DIM

            return None, DESCRIPTOR_DIM, device
        model, dim = load_encoder(
            self.params["checkpoint"],
            self.params["module"],
            self.params["module_kwargs"],
            device,
            probe_shape=self._input_shape(1),
        )
        return model, dim, device

    def _input_shape(self, batch: int) -> tuple[int, ...]:
        height, width = self.params["size"]
        frames = self.params["frames"]
        if self.params["layout"] == "BCTHW":
            return (batch, 3, frames, height, width)
        return (batch, frames, 3, height, width)

    @property
    def dim(self) -> int:
        return self._encoder()[1]

    def embed_frames(self, frames: np.ndarray) -> np.ndarray:
        """(B, T, H, W, 3) uint8 -> (B, dim) float32 unit vectors, batched, on the configured device."""
        import torch
        import torch.nn.functional as F

        from retrieval_backend.methods.appearance_motion import appearance_motion_descriptor
        from retrieval_backend.methods.devices import inference

        model, dim, device = self._encoder()
        out = np.zeros((len(frames), dim), dtype=np.float32)
        step = self.params["batch_size"]
        with inference(device):
            for start in range(0, len(frames), step):
                batch = torch.from_numpy(np.ascontiguousarray(frames[start : start + step])).to(device)
                if model is None:
                    vectors = appearance_motion_descriptor(batch)
                else:
                    vectors = model(self._prepare(batch))
                    if not isinstance(vectors, torch.Tensor) or vectors.ndim != 2 or vectors.shape[1] != dim:
                        raise ValueError(
                            f"the encoder returned {getattr(vectors, 'shape', type(vectors))}; "
                            f"it must return one vector per clip, shape (batch, {dim})."
                        )
                out[start : start + len(batch)] = F.normalize(vectors.float(), dim=1).cpu().numpy()
        return out

    def _prepare(self, batch: Any) -> Any:
        import torch

        x = batch.permute(0, 1, 4, 2, 3).float().div_(255.0)  # B, T, 3, H, W
        if self.params.get("mean") is not None:
            x = x - torch.tensor(self.params["mean"], device=x.device).view(1, 1, 3, 1, 1)
        if self.params.get("std") is not None:
            x = x / torch.tensor(self.params["std"], device=x.device).view(1, 1, 3, 1, 1)
        if self.params["layout"] == "BCTHW":
            x = x.permute(0, 2, 1, 3, 4)
        return x.contiguous()

    # --- clips and queries -------------------------------------------------

    def sample(self, uri: str, start_s: float, end_s: float) -> np.ndarray:
        from retrieval_backend.video.sampling import sample_frames

        height, width = self.params["size"]
        return sample_frames(uri, start_s, end_s, self.params["frames"], size=(width, height))

    def _encode_segments(self, segments: Sequence[tuple[str, float, float]]) -> Encoded:
        from retrieval_backend.video.errors import VideoError

        height, width = self.params["size"]
        frames = np.zeros((len(segments), self.params["frames"], height, width, 3), dtype=np.uint8)
        failed: dict[int, str] = {}
        for position, (uri, start_s, end_s) in enumerate(segments):
            try:
                frames[position] = self.sample(uri, start_s, end_s)
            except VideoError as exc:
                failed[position] = str(exc)
        vectors = self.embed_frames(frames)
        if failed:
            vectors[list(failed)] = 0.0
        return Encoded(vectors, failed)

    def encode_clips(self, clips: Sequence[ClipItem]) -> Encoded:
        return self._encode_segments([(c.video_uri, c.start_s, c.end_s) for c in clips])

    def encode_queries(self, queries: Sequence[QueryItem]) -> Encoded:
        return self._encode_segments([(q.video_uri, q.start_s, q.end_s) for q in queries])


def _on_device(model: Any, device: Any) -> Any:
    """Move to ``device`` and put in eval mode; an exported program's module moves but has no train/eval switch."""
    import torch

    model = model.to(device)
    if isinstance(model, torch.fx.GraphModule):
        return model  # torch.export modules refuse .eval(); they run as exported
    return model.eval()


def load_encoder(
    checkpoint: str, module: str, module_kwargs: dict[str, Any], device: Any, *, probe_shape: tuple[int, ...]
) -> tuple[Any, int]:
    """Load (once per process) a TorchScript file, or a state dict into ``module``; returns (model, dim).

    The output dimension is found by one forward pass on zeros of ``probe_shape``,
    so a research team never has to declare it.
    """
    import torch

    path = Path(checkpoint).expanduser()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns, module, repr(sorted(module_kwargs.items())), str(device))
    with _lock:
        if key in _encoders:
            return _encoders[key]
        if module:
            module_name, _, class_name = module.partition(":")
            try:
                model_class = getattr(import_module(module_name), class_name)
            except (ImportError, AttributeError) as exc:
                raise ValueError(f"cannot import the encoder class {module!r}: {exc}") from None
            model = model_class(**module_kwargs)
            state = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
                state = state["state_dict"]
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise ValueError(f"the state dict in {path} does not fit {module}: {exc}") from None
        elif path.suffix == ".pt2":
            # torch.export's program (torch.export.save), the successor of TorchScript. Its batch dimension
            # must have been exported as dynamic, since the last batch of a chunk is smaller.
            try:
                model = torch.export.load(str(path)).module()
            except Exception as exc:  # torch raises several kinds for a file that is not an exported program
                raise ValueError(f"{path} is not a torch.export program (.pt2): {exc}") from None
        else:
            try:
                model = torch.jit.load(str(path), map_location="cpu")
            except RuntimeError:
                raise ValueError(
                    f"{path} is not a TorchScript file. For a state dict, also set module to the "
                    '"package.module:Class" that it belongs to; for torch.export, name the file .pt2.'
                ) from None
        model = _on_device(model, device)
        with torch.inference_mode():
            try:
                probe = model(torch.zeros(probe_shape, device=device))
                if path.suffix == ".pt2":  # a program exported for one batch size fails on another here, not later
                    model(torch.zeros((2, *probe_shape[1:]), device=device))
            except Exception as exc:
                if path.suffix != ".pt2":
                    raise
                raise ValueError(
                    f"the exported program in {path} does not take input {probe_shape} and batches of other sizes: "
                    "export it with a dynamic batch dimension, e.g. "
                    "dynamic_shapes={'x': {0: torch.export.Dim('batch')}} "
                    f"({type(exc).__name__}: {str(exc)[:200]})"
                ) from None
        if not isinstance(probe, torch.Tensor) or probe.ndim != 2:
            raise ValueError(
                f"the encoder in {path} returned {getattr(probe, 'shape', type(probe))} for input {probe_shape}; "
                "it must return one vector per clip, shape (batch, dim)."
            )
        _encoders[key] = (model, int(probe.shape[1]))
        return _encoders[key]
