"""Judgements: what a coach answered for one assignment, with an append-only revision history."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from studies.models import Assignment, Item, Study


class Judgement(models.Model):
    class Choice(models.TextChoices):
        # Screen positions, exactly as the coach saw them.
        LEFT = "left", _("left clip helps more")
        RIGHT = "right", _("right clip helps more")
        EQUAL = "equal", _("equally helpful")
        NEITHER = "neither", _("neither helps")

    class Winner(models.TextChoices):
        # The same answer mapped back to the item's stored clips (a, b), so to methods.
        A = "a", "clip a"
        B = "b", "clip b"
        TIE = "tie", "tie"
        NEITHER = "neither", "neither"

    class Flag(models.TextChoices):
        NONE = "", "not flagged"
        NO_PLAYBACK = "no_playback", _("a video doesn't play")
        CANT_JUDGE = "cant_judge", _("can't judge")
        OTHER = "other", _("other problem")

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="judgement")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="judgements")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="judgements")
    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="judgements")
    kind = models.CharField(max_length=8, choices=Item.Kind.choices)
    choice = models.CharField(max_length=8, choices=Choice.choices, blank=True)
    winner = models.CharField(max_length=8, choices=Winner.choices, blank=True)
    score = models.SmallIntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True, max_length=5000)
    flag = models.CharField(max_length=12, choices=Flag.choices, blank=True, default="")
    # Milliseconds each clip played, as reported by the page: {"query": ..., "a": ..., "b": ...}.
    watch_ms = models.JSONField(default=dict, blank=True)
    # Milliseconds from the reservation (the page being served) to the submission, measured by the server.
    server_ms = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    revised = models.DateTimeField(null=True, blank=True)
    revision = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["coach", "-created"], name="judgement_history"),
            models.Index(fields=["study", "kind"], name="judgement_by_study_kind"),
            # The export and the results read a study's judgements in item order: with this index
            # the database walks it instead of sorting a million rows in memory.
            models.Index(fields=["study", "item", "id"], name="judgement_by_study_item"),
            # The API pages a study's judgements in id order, all of them or one coach's: each page is
            # an index range scan from the cursor, as fast on page 10,000 as on page 1.
            models.Index(fields=["study", "id"], name="judgement_page"),
            models.Index(fields=["study", "coach", "id"], name="judgement_page_by_coach"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(flag="") | (Q(choice="") & Q(score__isnull=True)),
                name="flagged_judgement_has_no_answer",
            ),
        ]

    def __str__(self) -> str:
        answer = self.flag or self.choice or self.score
        return f"{self.coach_id} on {self.item_id}: {answer}"

    @property
    def counts(self) -> bool:
        """Flagged judgements go to the researcher and stay out of every count."""
        return not self.flag


class JudgementRevision(models.Model):
    """The answer a judgement had before a revision. Rows are only ever added."""

    judgement = models.ForeignKey(Judgement, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveSmallIntegerField()
    choice = models.CharField(max_length=8, blank=True)
    winner = models.CharField(max_length=8, blank=True)
    score = models.SmallIntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    recorded = models.DateTimeField()
    replaced = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["judgement", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["judgement", "revision"], name="revision_once"),
        ]

    def __str__(self) -> str:
        return f"revision {self.revision} of judgement {self.judgement_id}"


class StudyReport(models.Model):
    """A study's computed results, cached: recomputing agreement and bootstraps on every page view is too slow.

    ``dirty`` says judgements changed since ``computed``; a worker recomputes when it is set
    (``annotations.report_refresh``). ``queued`` is when a recompute was last sent, so a lost task
    is sent again rather than leaving the report stale for good.
    """

    study = models.OneToOneField(Study, on_delete=models.CASCADE, primary_key=True, related_name="report")
    data = models.JSONField(default=dict, blank=True)
    # Figures drawn from ``data`` by the same task, as SVG text by figure name.
    figures = models.JSONField(default=dict, blank=True)
    computed = models.DateTimeField(null=True, blank=True)
    dirty = models.BooleanField(default=True)
    queued = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"report of {self.study_id} ({'stale' if self.dirty else 'current'})"

    @property
    def state(self) -> str:
        """``computing`` (never computed), ``failed``, ``updating`` (judgements changed since) or ``current``."""
        if self.error:
            return "failed"
        if self.computed is None:
            return "computing"
        return "updating" if self.dirty else "current"

    @property
    def state_message(self) -> str:
        """What the state means for whoever reads the figures."""
        if self.computed is None:
            if self.error:
                return f"Computing the report failed ({self.error}); it is retried."
            return "The report is being computed on a worker: ask again in a minute."
        return {
            "failed": f"The last recomputation failed ({self.error}); these figures are older.",
            "updating": "Judgements changed since; a worker is recomputing. "
            "These figures are current as of `computed`.",
            "current": "Computed from every judgement so far.",
        }[self.state]

    def page_message(self, last_judgement: datetime | None, now: datetime | None = None) -> str:
        """The state in words for the report page: while it recomputes, how long ago the last judgement came.

        The page shows when the figures were computed next to this line, so a stale report reads
        "recomputing..." with how fresh the judgements behind it are, rather than "not computed yet".
        """
        state = self.state
        if state in {"computing", "updating"} or (state == "failed" and self.dirty):
            since = (
                f"the last judgement came in {timesince(last_judgement, now)} ago"
                if last_judgement is not None
                else "no judgement has come in yet"
            )
            queued = "judgements have changed since, a recompute is queued; " if self.computed else ""
            failed = f" The last recompute failed: {self.error}" if state == "failed" else ""
            return f"Recomputing… {queued}{since}.{failed}"
        return self.state_message


class StudyExport(models.Model):
    """One run of the dataset export; its bundle is offered for download only once it is complete."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="exports")
    job = models.OneToOneField(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="study_export"
    )
    include_identities = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    # The finished zip, relative to settings.EXPORT_ROOT; empty until the bundle is complete.
    path = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    judgements = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.study_id} ({self.status})"

    @property
    def is_offered(self) -> bool:
        """Only a complete bundle is downloadable: a run killed half-way never set its path."""
        return self.status == self.Status.DONE and bool(self.path)
