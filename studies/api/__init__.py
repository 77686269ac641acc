"""The REST endpoints of studies (mounted under /api/v1/ by config/api/urls.py)."""
