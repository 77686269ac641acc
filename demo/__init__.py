"""The demo: synthetic stick-figure videos, their gallery and queries, demo accounts, a demo study (``seed_demo``)."""
