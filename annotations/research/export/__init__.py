"""The dataset export: one bundle of tables, results and a dataset card per study (see ``bundle.write_bundle``)."""

from __future__ import annotations
