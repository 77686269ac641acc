"""Study design, coach profiles, the items coaches judge, and their reservations.

A study compares retrieval methods on mistake queries. Items are built from the
methods' candidate sets (studies reads retrieval_backend, never the reverse), and
each item is judged by ``raters_per_item`` eligible coaches. The assignment engine
(``studies.assignment``) hands items out; the database enforces its two promises:
never more judgements on an item than it needs, never two by one coach.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod, Sport

DEFAULT_PAIRWISE_QUESTION = "Which clip would better help this athlete correct the mistake?"
DEFAULT_LIKERT_QUESTION = "How helpful is this clip for correcting the mistake?"


def default_scale_labels() -> dict[str, str]:
    return {"1": "Not helpful at all", "5": "Extremely helpful"}


def new_token() -> str:
    """An opaque, unguessable identifier for URLs a coach sees (no ids, no method names)."""
    return secrets.token_urlsafe(16)


class CoachProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coach_profile")
    sports = models.ManyToManyField(Sport, blank=True, related_name="coaches", help_text="Sports of expertise.")
    years_coaching = models.PositiveIntegerField(default=0)
    credential = models.CharField(max_length=255, blank=True, help_text="Licence or certification, as stated.")
    # A code from settings.LANGUAGES; blank follows the browser. Not a choices field, so adding a language
    # to the site needs no migration.
    language = models.CharField(
        max_length=16, blank=True, help_text="Language of the coach's pages; blank follows their browser."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self) -> str:
        return self.user.get_username()


# A study's design as researchers set it, in parts; the admin's form and the API list it in this order.
DESIGN_PARTS: dict[str, tuple[str, ...]] = {
    "Tasks": (
        "kinds",
        "pairwise_question",
        "likert_question",
        "scale_min",
        "scale_max",
        "scale_labels",
        "show_narrations",
        "require_full_watch",
    ),
    "What is compared": ("methods", "depth_k", "query_sports", "query_skills", "queries"),
    "Coaches": (
        "raters_per_item",
        "eligible_sports",
        "min_years_coaching",
        "eligible_coaches",
        "quota_per_coach",
        "reservation_minutes",
        "break_every",
    ),
    "Quality and randomness": ("gold_rate", "seed"),
}


class Study(models.Model):
    class Status(models.TextChoices):
        # Translated: coaches read a study's status on its pages.
        DRAFT = "draft", _("draft")
        GENERATING = "generating", _("generating items")
        READY = "ready", _("ready to publish")
        LIVE = "live", _("live")
        PAUSED = "paused", _("paused")
        CLOSED = "closed", _("closed")

    # The statuses in which coaches' answers are recorded: live, and paused (answers to items already served).
    ANSWERING = (Status.LIVE, Status.PAUSED)

    class Kinds(models.TextChoices):
        PAIRWISE = "pairwise", "pairwise"
        LIKERT = "likert", "Likert"
        BOTH = "both", "pairwise and Likert"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    instructions = models.TextField(blank=True, help_text="Markdown, shown to coaches before they start.")
    kinds = models.CharField(max_length=8, choices=Kinds.choices, default=Kinds.BOTH)
    pairwise_question = models.CharField(max_length=500, default=DEFAULT_PAIRWISE_QUESTION)
    likert_question = models.CharField(max_length=500, default=DEFAULT_LIKERT_QUESTION)
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)
    scale_labels = models.JSONField(
        default=default_scale_labels, blank=True, help_text='Labels by point, e.g. {"1": "Not helpful", "5": "Very"}.'
    )
    methods = models.ManyToManyField(RetrievalMethod, related_name="studies")
    # Which queries: an explicit list wins; otherwise by sport and/or skill; otherwise all.
    query_sports = models.ManyToManyField(Sport, blank=True, related_name="+")
    query_skills = models.CharField(max_length=500, blank=True, help_text="Comma-separated skills.")
    queries = models.ManyToManyField(MistakeQuery, blank=True, related_name="studies")
    depth_k = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Ranks evaluated per method."
    )
    raters_per_item = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    show_narrations = models.BooleanField(default=False)
    eligible_sports = models.ManyToManyField(
        Sport, blank=True, related_name="+", help_text="Coaches expert in any of these; empty means any sport."
    )
    min_years_coaching = models.PositiveSmallIntegerField(default=0)
    eligible_coaches = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", help_text="An explicit list; empty means by rule."
    )
    quota_per_coach = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means no limit.")
    gold_rate = models.FloatField(default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(0.5)])
    seed = models.PositiveIntegerField(default=0)
    reservation_minutes = models.PositiveSmallIntegerField(default=20, validators=[MinValueValidator(1)])
    require_full_watch = models.BooleanField(default=False)
    break_every = models.PositiveSmallIntegerField(default=40, help_text="Suggest a break after this many items.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Why the study is where it is: a failed build, what the design still lacks.
    status_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    group = models.ForeignKey(
        "auth.Group",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="studies",
        help_text="Researchers of this group manage the study; empty means every researcher.",
    )
    created = models.DateTimeField(auto_now_add=True)
    published = models.DateTimeField(null=True, blank=True)
    closed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = "studies"
        constraints = [
            models.CheckConstraint(condition=Q(scale_max__gt=F("scale_min")), name="scale_has_two_points_or_more"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_pairwise(self) -> bool:
        return self.kinds in {self.Kinds.PAIRWISE, self.Kinds.BOTH}

    @property
    def has_likert(self) -> bool:
        return self.kinds in {self.Kinds.LIKERT, self.Kinds.BOTH}

    @property
    def accepts_answers(self) -> bool:
        """Coaches' answers are recorded while the study is live or paused (answers in flight still count)."""
        return self.status in self.ANSWERING

    @property
    def accepts_revisions(self) -> bool:
        """A coach may change a recent answer only while the study is live."""
        return self.status == self.Status.LIVE

    @property
    def is_frozen(self) -> bool:
        """A study past design: its items exist or coaches may be judging, so the design can't change."""
        return self.status not in {self.Status.DRAFT}

    def scale_points(self) -> list[int]:
        return list(range(self.scale_min, self.scale_max + 1))


class Item(models.Model):
    """One thing a coach judges: a clip against a query (Likert), or two clips (pairwise)."""

    class Kind(models.TextChoices):
        PAIRWISE = "pairwise", "pairwise"
        LIKERT = "likert", "Likert"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # A deterministic key such as "pw:q17:3:7:r2": building twice finds the same rows.
    key = models.CharField(max_length=200)
    query = models.ForeignKey(MistakeQuery, on_delete=models.PROTECT, related_name="+")
    clip_a = models.ForeignKey(Clip, on_delete=models.PROTECT, related_name="+")
    clip_b = models.ForeignKey(Clip, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Which methods returned each clip, at which rank: [{"method": id, "rank": r}, ...].
    credits_a = models.JSONField(default=list, blank=True)
    credits_b = models.JSONField(default=list, blank=True)
    # Pairwise: "low_id:high_id" of the two methods, so progress and results group by pair in SQL.
    method_pair = models.CharField(max_length=50, blank=True, db_index=True)
    # True when clip_a is shown on the right; screen sides map back to methods through this.
    swapped = models.BooleanField(default=False)
    is_gold = models.BooleanField(default=False)
    # Gold answers: {"choice": "left"|"right"|...} in stored (a/b) terms, or {"min": 4, "max": 5}.
    gold_answer = models.JSONField(null=True, blank=True)
    # How many judgements the item needs (the study's raters per item when it was built).
    needed = models.PositiveSmallIntegerField(default=3)
    # Judgements done plus reservations not yet released. The check constraints below
    # make over-assignment impossible, whatever the code above them does.
    load = models.PositiveSmallIntegerField(default=0)
    judgements_done = models.PositiveSmallIntegerField(default=0)
    # A seeded random order, so coaches meet queries interleaved rather than one query's items in a row.
    order_key = models.PositiveIntegerField(default=0)
    flagged = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study", "order_key"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="item_key_unique_per_study"),
            models.CheckConstraint(condition=Q(load__lte=F("needed")), name="item_load_within_needed"),
            models.CheckConstraint(condition=Q(judgements_done__lte=F("load")), name="item_done_within_load"),
        ]
        indexes = [models.Index(fields=["study", "load", "order_key"], name="item_claim_order")]

    def __str__(self) -> str:
        return f"{self.kind} item {self.key}"


class PairingOutcome(models.Model):
    """A pairwise comparison that was not shown because both methods returned the same clip."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="identical_pairs")
    query = models.ForeignKey(MistakeQuery, on_delete=models.CASCADE, related_name="+")
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="+")
    method_a = models.ForeignKey(RetrievalMethod, on_delete=models.CASCADE, related_name="+")
    method_b = models.ForeignKey(RetrievalMethod, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "query", "method_a", "method_b", "rank"], name="identical_pair_once"
            ),
        ]

    def __str__(self) -> str:
        return f"identical clip at rank {self.rank} for {self.query_id}"


def _study_of(check: GoldCheck) -> Study | None:
    try:
        return check.study
    except Study.DoesNotExist:
        return None


class GoldCheck(models.Model):
    """A researcher-authored check with a known answer, mixed into a study at its gold rate."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="gold_checks")
    kind = models.CharField(max_length=8, choices=Item.Kind.choices)
    query = models.ForeignKey(MistakeQuery, on_delete=models.PROTECT, related_name="+")
    helpful_clip = models.ForeignKey(
        Clip, on_delete=models.PROTECT, related_name="+", help_text="Pairwise: the clearly helpful clip."
    )
    unrelated_clip = models.ForeignKey(
        Clip,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Pairwise: a clearly unrelated clip.",
    )
    min_score = models.SmallIntegerField(null=True, blank=True, help_text="Likert: lowest acceptable score.")
    max_score = models.SmallIntegerField(null=True, blank=True, help_text="Likert: highest acceptable score.")

    def __str__(self) -> str:
        return f"gold {self.kind} check on {self.query}"

    def clean(self) -> None:
        """A gold check must make a sound item of its kind (the admin form shows these next to the fields)."""
        errors: dict[str, str] = {}
        if self.kind == Item.Kind.PAIRWISE:
            if self.unrelated_clip_id is None:
                errors["unrelated_clip"] = (
                    "Choose a clip that does not help with this mistake as the unrelated clip: "
                    "a pairwise gold check sets it against the helpful one."
                )
            elif self.unrelated_clip_id == self.helpful_clip_id:
                errors["unrelated_clip"] = (
                    "Choose a clip that does not help with this mistake as the unrelated clip, "
                    "not the helpful one again."
                )
        elif self.kind == Item.Kind.LIKERT:
            if self.min_score is None:
                errors["min_score"] = "Set the lowest score a coach may give this clip and still pass the check."
            if self.max_score is None:
                errors["max_score"] = "Set the highest score a coach may give this clip and still pass the check."
            study = _study_of(self)  # on the admin's add page the study is not saved yet, but the form holds it
            low, high = self.min_score, self.max_score
            if low is not None and high is not None:
                if low > high:
                    errors["max_score"] = f"Make the highest acceptable score at least the lowest ({low})."
                elif study is not None and not study.scale_min <= low <= high <= study.scale_max:
                    scale = f"{study.scale_min} to {study.scale_max}"
                    errors["max_score"] = f"Keep both acceptable scores within the study's scale, {scale}."
        if errors:
            raise ValidationError(errors)


class Assignment(models.Model):
    """An item reserved for one coach, then done, or released back to the pool.

    ``upcoming`` is a look-ahead: the item after the one the coach holds, reserved so
    the page can load its clips ahead; it becomes ``reserved`` when the coach moves on
    to it, and can't be answered before. Both count in ``Item.load`` and both expire.
    """

    class Status(models.TextChoices):
        RESERVED = "reserved", "reserved"
        UPCOMING = "upcoming", "reserved next (look-ahead)"
        DONE = "done", "done"
        RELEASED = "released", "released"

    # The statuses that hold a place on the item (counted in its load) until they expire.
    LIVE = (Status.RESERVED, Status.UPCOMING)

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assignments")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RESERVED)
    reserved = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    completed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-reserved"]
        constraints = [
            models.UniqueConstraint(fields=["item", "coach"], name="one_assignment_per_coach_and_item"),
        ]
        indexes = [
            models.Index(fields=["study", "status", "expires"], name="assignment_expiry"),
            models.Index(fields=["coach", "study", "status"], name="assignment_by_coach"),
        ]

    def __str__(self) -> str:
        return f"{self.item} for {self.coach_id} ({self.status})"


class Participation(models.Model):
    """A coach's standing in one study: eligibility, progress, the item they hold now and the one after.

    Claims lock this row first, so one coach's double click can't reserve two items.
    """

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participations")
    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations")
    eligible = models.BooleanField(default=True)
    done_count = models.PositiveIntegerField(default=0)
    current = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The look-ahead reservation (status ``upcoming``) whose clips the task page loads while ``current`` is judged.
    upcoming = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_query = models.ForeignKey(MistakeQuery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    joined = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["study", "coach"], name="one_participation_per_coach")]

    def __str__(self) -> str:
        return f"{self.coach_id} in {self.study_id}: {self.done_count} done"
