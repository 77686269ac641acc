"""A third-party backend installed the way pip leaves a package: a module plus a .dist-info entry point."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest


def install_fake_distribution(root: Path, module_source: str, entry: str) -> None:
    """A package as pip would leave it: a module and a .dist-info folder whose entry_points.txt names it."""
    (root / "fake_coach_model.py").write_text(textwrap.dedent(module_source))
    info = root / "fake_coach_model-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-coach-model\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[coachbench.retrieval_backends]\n{entry}\n")


FAKE_BACKEND = """
    from __future__ import annotations
    import numpy as np
    from retrieval_backend.methods import RetrievalBackend, l2_normalise

    class LengthBackend(RetrievalBackend):
        name = "length-model"
        description = "narration length, a stand-in for a team's model"
        dim = 2

        def encode_clips(self, clips):
            return l2_normalise(np.array([[len(c.narration), 1.0] for c in clips]))

        def encode_queries(self, queries):
            return l2_normalise(np.array([[len(q.mistake), 1.0] for q in queries]))
"""


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    install_fake_distribution(root, FAKE_BACKEND, "length-model = fake_coach_model:LengthBackend")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", f"{root}:{Path.cwd()}")  # for worker processes started by the test
    yield root
    sys.modules.pop("fake_coach_model", None)
