"""The REST endpoints of studies (mounted under /api/v1/ by core/api/urls.py)."""
