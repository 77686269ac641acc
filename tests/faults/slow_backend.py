"""A retrieval backend that takes its time, installed the way pip leaves a package, for fault tests.

Each embedding chunk sleeps ``delay_s`` before returning its vectors, so a test can find a chunk
running and kill its worker (or restart the broker) while it does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.retrieval_backend.fake_backend import install_fake_distribution

SLOW_BACKEND = """
    from __future__ import annotations
    import time
    import numpy as np
    from retrieval_backend.methods import RetrievalBackend, l2_normalise
    from retrieval_backend.methods.base import BackendParamsError

    class SlowBackend(RetrievalBackend):
        name = "slow-model"
        description = "narration length, slowly: a stand-in for a heavy model"
        dim = 3
        PARAMS = {"delay_s": "seconds each embedding chunk takes"}

        @classmethod
        def clean_params(cls, params):
            delay = params.get("delay_s", 0.5)
            if not isinstance(delay, (int, float)) or not 0 <= delay <= 30:
                raise BackendParamsError("delay_s must be a number of seconds from 0 to 30")
            return {**params, "delay_s": float(delay)}

        def encode_clips(self, clips):
            time.sleep(self.params["delay_s"])
            return l2_normalise(np.array([[len(c.narration), c.pk % 7, 1.0] for c in clips]))

        def encode_queries(self, queries):
            return l2_normalise(np.array([[len(q.mistake), 1.0, 1.0] for q in queries]))
"""


@pytest.fixture
def slow_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Install the ``slow-model`` backend for this process and the workers the test starts (request it first)."""
    root = tmp_path / "site"
    root.mkdir()
    install_fake_distribution(root, SLOW_BACKEND, "slow-model = fake_coach_model:SlowBackend")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", f"{root}:{Path.cwd()}")
    yield "slow-model"
    sys.modules.pop("fake_coach_model", None)
