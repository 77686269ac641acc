"""The one error every statistic raises when the data cannot give it."""

from __future__ import annotations


class StatisticError(ValueError):
    """The data lack what a statistic needs (a second rater, pairable units, a fully crossed design...).

    A subclass of ValueError so callers that only know "bad input" still catch it; its message says
    what is missing, because a NaN in a published table says nothing about why.
    """
