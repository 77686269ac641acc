"""The gallery and the mistake queries, video I/O, retrieval methods, indexes and candidates.

This app knows nothing of studies or annotations: data flows out of it, never in.
"""
