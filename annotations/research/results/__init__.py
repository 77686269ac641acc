"""A study's results for the report page and the dataset export (see ``service.study_results``)."""

from __future__ import annotations
