"""Judgements, the coach UI, agreement statistics, leaderboards and exports."""
