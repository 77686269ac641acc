from __future__ import annotations

from django.apps import AppConfig


class RetrievalBackendConfig(AppConfig):
    name = "retrieval_backend"
    verbose_name = "Gallery and retrieval"

    def ready(self) -> None:
        from core.jobs import job_cancelled

        job_cancelled.connect(_discard_unread_upload, dispatch_uid="retrieval_backend.discard_unread_upload")


def _discard_unread_upload(sender, job, **kwargs) -> None:
    """A cancelled import whose chunk never started leaves its uploaded manifest behind: remove it."""
    # Imported when a job is cancelled, not at start-up: the import module pulls in the API package.
    from retrieval_backend.importing.upload_jobs import discard_unread_upload

    discard_unread_upload(job)
