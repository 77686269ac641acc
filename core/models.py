"""Platform models: the progress of long work done by workers (``Job``), in resumable slices (``JobChunk``).

They began in retrieval_backend and moved here when studies and exports came to use
them too; their tables keep the old names (``retrieval_backend_job``,
``retrieval_backend_jobchunk``), so the move recreated nothing.
"""

from __future__ import annotations

from django.db import models


class Job(models.Model):
    """Progress of long work done by workers, shown as a progress bar."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        # Every chunk has finished; a last step (assembling an index, writing a bundle) runs.
        FINALIZING = "finalizing", "finalizing"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    MAX_STORED_ERRORS = 1000

    kind = models.CharField(max_length=50, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    # Per-item errors as {"item": ..., "error": ...}; the first MAX_STORED_ERRORS are kept, all are counted.
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    celery_ids = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "retrieval_backend_job"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        if self.total <= 0:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.done / self.total))

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED}


class JobChunk(models.Model):
    """One resumable slice of a job. A finished chunk is never recomputed on resume."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    payload = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "retrieval_backend_jobchunk"
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="chunk_index_unique_per_job")]
        # Named as Django named it under retrieval_backend, so the index is neither renamed nor rebuilt.
        indexes = [models.Index(fields=["job", "status"], name="retrieval_b_job_id_c7eb60_idx")]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id} ({self.status})"
