"""The gallery (sports, videos, demonstration clips), mistake queries, methods and their outputs."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q


class Sport(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Video(models.Model):
    """One media file: a gallery source video or a user's query recording."""

    class Role(models.TextChoices):
        GALLERY = "gallery", "gallery source"
        QUERY = "query", "query recording"

    # What probing the file fills in (retrieval_backend.video.probe); read-only everywhere else.
    PROBED_FIELDS = (
        "sha256",
        "size_bytes",
        "duration_s",
        "fps",
        "width",
        "height",
        "codec",
        "has_audio",
        "frame_count",
        "probe_status",
        "probe_error",
    )

    class ProbeStatus(models.TextChoices):
        PENDING = "pending", "not probed yet"
        OK = "ok", "probed"
        FAILED = "failed", "probe failed"

    sport = models.ForeignKey(Sport, on_delete=models.PROTECT, related_name="videos")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.GALLERY)
    # Where PyAV opens it: an absolute local path or a URL.
    source_uri = models.CharField(max_length=1024, unique=True)
    external_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    title = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    fps = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    has_audio = models.BooleanField(default=False)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    probe_status = models.CharField(
        max_length=8, choices=ProbeStatus.choices, default=ProbeStatus.PENDING, db_index=True
    )
    probe_error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # Moves only when an import or a probe changes the row: re-importing the same manifest leaves it.
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title or self.external_id or self.source_uri


class Clip(models.Model):
    """A visual demonstration with its instructional narration: the retrievable unit."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="clips")
    # Denormalised from the video so that "clips of this sport" needs no join at gallery scale.
    sport = models.ForeignKey(Sport, on_delete=models.PROTECT, related_name="clips")
    external_id = models.CharField(max_length=255, unique=True)
    start_s = models.FloatField()
    end_s = models.FloatField()
    skill = models.CharField(max_length=255, blank=True, db_index=True)
    narration = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(start_s__gte=0), name="clip_start_not_negative"),
            models.CheckConstraint(condition=Q(end_s__gt=F("start_s")), name="clip_ends_after_start"),
        ]
        # Lists filtered by sport, skill or video come in id order (cursor pages): with the id second in the
        # index, a page is read in order from it. A sport imported in one go sits in one id range, and a
        # plain sport index would leave the planner walking the primary key through the other sports first.
        indexes = [
            models.Index(fields=["sport", "id"], name="clip_sport_then_id"),
            models.Index(fields=["skill", "id"], name="clip_skill_then_id"),
            models.Index(fields=["video", "id"], name="clip_video_then_id"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class MistakeQuery(models.Model):
    """A user's execution of a skill and what is wrong with it."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="queries")
    sport = models.ForeignKey(Sport, on_delete=models.PROTECT, related_name="queries")
    external_id = models.CharField(max_length=255, unique=True)
    start_s = models.FloatField()
    end_s = models.FloatField()
    skill = models.CharField(max_length=255, blank=True, db_index=True)
    mistake = models.TextField()
    # Known helpful clips, when given, allow offline Recall@K.
    positives = models.ManyToManyField(Clip, blank=True, related_name="positive_for")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "mistake queries"
        constraints = [
            models.CheckConstraint(condition=Q(start_s__gte=0), name="query_start_not_negative"),
            models.CheckConstraint(condition=Q(end_s__gt=F("start_s")), name="query_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.external_id


class RetrievalMethod(models.Model):
    """A configured retrieval backend: what a study compares."""

    name = models.SlugField(max_length=100, unique=True)
    backend = models.CharField(max_length=100)
    params = models.JSONField(default=dict, blank=True)
    version = models.CharField(max_length=50, default="1")
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EmbeddingIndex(models.Model):
    """A FAISS index of one method's clip embeddings, and which clips it was built from."""

    class Status(models.TextChoices):
        BUILDING = "building", "building"
        READY = "ready", "ready"
        FAILED = "failed", "failed"
        STALE = "stale", "stale (gallery changed)"

    method = models.ForeignKey(RetrievalMethod, on_delete=models.CASCADE, related_name="indexes")
    version = models.CharField(max_length=50)
    kind = models.CharField(max_length=16, default="flat")
    dim = models.PositiveIntegerField(null=True, blank=True)
    n = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=1024, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # A fingerprint of the clip ids it holds, so a changed gallery is noticed.
    clips_fingerprint = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BUILDING, db_index=True)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "embedding indexes"

    def __str__(self) -> str:
        return f"{self.method} v{self.version} ({self.kind}, n={self.n})"


class CandidateSet(models.Model):
    """The ranked clips one method returns for one query."""

    class Source(models.TextChoices):
        GENERATED = "generated", "generated by a worker"
        IMPORTED = "imported", "imported"

    query = models.ForeignKey(MistakeQuery, on_delete=models.CASCADE, related_name="candidate_sets")
    method = models.ForeignKey(RetrievalMethod, on_delete=models.CASCADE, related_name="candidate_sets")
    k = models.PositiveIntegerField()
    params_hash = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.GENERATED)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["query", "method"], name="one_candidate_set_per_query_and_method"),
        ]

    def __str__(self) -> str:
        return f"{self.method} for {self.query} (k={self.k})"


class Candidate(models.Model):
    candidate_set = models.ForeignKey(CandidateSet, on_delete=models.CASCADE, related_name="candidates")
    rank = models.PositiveIntegerField()  # 1-based
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()

    class Meta:
        ordering = ["candidate_set", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["candidate_set", "rank"], name="one_clip_per_rank"),
            models.UniqueConstraint(fields=["candidate_set", "clip"], name="clip_once_per_candidate_set"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.clip_id} ({self.score:.3f})"
