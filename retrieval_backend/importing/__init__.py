"""Importing manifests (JSONL), checked line by line, in bulk: the gallery, the mistake queries, candidate files.

One framework (``importer.ManifestImport``) for every kind; the candidate kind lives with the candidates
(``retrieval_backend.candidates.importing``). The commands, the API and the workers all run it.
"""

from __future__ import annotations
