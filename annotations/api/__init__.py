"""The REST endpoints of annotations (mounted under /api/v1/ by config/api/urls.py)."""
