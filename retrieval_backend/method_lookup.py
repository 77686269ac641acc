"""Finding retrieval methods by the names a researcher types on the command line."""

from __future__ import annotations

from django.core.management.base import CommandError

from retrieval_backend.models import RetrievalMethod


def split_names(value: str) -> list[str]:
    """``a,b, c`` -> ``["a", "b", "c"]``, keeping the order given and dropping repeats and blanks."""
    return list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


def resolve_methods(value: str) -> list[RetrievalMethod]:
    """The methods named in ``value`` in the order given; a CommandError lists the known ones otherwise."""
    names = split_names(value)
    if not names:
        raise CommandError("--methods is empty: name at least one retrieval method, e.g. --methods random.")
    found = {m.name: m for m in RetrievalMethod.objects.filter(name__in=names)}
    unknown = [n for n in names if n not in found]
    if unknown:
        known = ", ".join(RetrievalMethod.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise CommandError(
            f"unknown method(s): {', '.join(unknown)}. Known methods: {known}. "
            "Add a method in the admin under Retrieval methods."
        )
    return [found[n] for n in names]
