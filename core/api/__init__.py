"""What every part of the REST API shares: pagination, permissions, the error format, the URL mount.

Each app keeps its own endpoints in ``<app>/api/``; ``config/urls.py`` mounts
them under ``/api/v1/`` next to the OpenAPI schema and its documentation pages.
"""
