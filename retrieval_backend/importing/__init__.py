"""Importing manifests (JSONL) into the gallery and the mistake queries, checked line by line, in bulk."""

from __future__ import annotations
