"""The one-way import rule of ARCHITECTURE.md: core <- retrieval_backend <- studies <- annotations (<- demo).

Read from the source with ``ast``, so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "retrieval_backend", "studies", "annotations", "demo")
# What each package may import of the project's own packages (itself always).
ALLOWED = {
    "config": {"core"},
    "core": set(),
    "retrieval_backend": {"core"},
    "studies": {"core", "retrieval_backend"},
    "annotations": {"core", "retrieval_backend", "studies"},
    "demo": {"core", "retrieval_backend", "studies", "annotations"},
}
FIRST_PARTY = {*ALLOWED, "tests"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _modules(package: str) -> list[Path]:
    return sorted(path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts)


def _breaches(package: str, allowed: set[str], *, banned: tuple[str, ...] = ()) -> list[str]:
    breaches = []
    for path in _modules(package):
        for line, module in _imports(path):
            top = module.split(".")[0]
            wrong = (top in FIRST_PARTY and top != package.split("/")[0] and top not in allowed) or top in banned
            if wrong:
                breaches.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return breaches


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_lies_below_it(package):
    assert _breaches(package, ALLOWED[package]) == []


def test_the_statistics_import_nothing_of_django_or_the_project():
    banned = ("django", "rest_framework", "celery", *FIRST_PARTY - {"annotations"})
    breaches = _breaches("annotations/research/stats", set(), banned=banned)
    outside = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _modules("annotations/research/stats")
        for _, module in _imports(path)
        if module.startswith("annotations.") and not module.startswith("annotations.research.stats")
    ]
    assert breaches + outside == []


def test_the_rule_catches_a_breach(tmp_path, monkeypatch):
    """The check itself: a module of core importing studies is reported with its line."""
    package = tmp_path / "core"
    package.mkdir()
    (package / "leak.py").write_text(
        "from __future__ import annotations\n\n\ndef f():\n    from studies import models\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _breaches("core", ALLOWED["core"]) == ["core/leak.py:5 imports studies"]
