"""The REST endpoints of retrieval_backend (mounted under /api/v1/ by core/api/urls.py)."""
