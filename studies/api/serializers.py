"""What the studies API reads and writes: a study's design, its items, its progress.

Related rows are named the way a researcher's script knows them: methods by name,
sports by slug, coaches by user name, queries by id. The design is validated with
the admin form's rules (``studies.admin.StudyForm``), worded the same way.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework import serializers

from retrieval_backend.models import MistakeQuery, RetrievalMethod, Sport
from studies.models import DESIGN_PARTS, Item, Study

# Upper bounds the database columns allow (smallint, integer), so a huge number is a 400, not a database error.
SMALLINT_MAX = 32767
INT_MAX = 2**31 - 1

LABELS_EXAMPLE = '{"1": "Not helpful", "5": "Very helpful"}'


class NamedRelatedField(serializers.SlugRelatedField):
    """A related row named by text; a NUL character (PostgreSQL can't compare one) is a 400, not a 500."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError("Names contain no NUL characters (\\u0000): remove them.")
        return super().to_internal_value(data)


class StudySerializer(serializers.ModelSerializer):
    methods = NamedRelatedField(
        slug_field="name", many=True, queryset=RetrievalMethod.objects.all(), help_text="Method names."
    )
    query_sports = NamedRelatedField(
        slug_field="slug", many=True, required=False, queryset=Sport.objects.all(), help_text="Sport slugs."
    )
    queries = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=MistakeQuery.objects.all(), help_text="Mistake query ids."
    )
    eligible_sports = NamedRelatedField(
        slug_field="slug", many=True, required=False, queryset=Sport.objects.all(), help_text="Sport slugs."
    )
    eligible_coaches = NamedRelatedField(
        slug_field="username",
        many=True,
        required=False,
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="User names; empty means every coach matching the rules.",
    )
    group = NamedRelatedField(
        slug_field="name",
        required=False,
        allow_null=True,
        queryset=Group.objects.all(),
        help_text="The research group that manages the study (one of yours); null means every researcher.",
    )
    scale_labels = serializers.JSONField(required=False, help_text=f"Labels by scale point, e.g. {LABELS_EXAMPLE}.")
    scale_min = serializers.IntegerField(required=False, min_value=-SMALLINT_MAX, max_value=SMALLINT_MAX)
    scale_max = serializers.IntegerField(required=False, min_value=-SMALLINT_MAX, max_value=SMALLINT_MAX)
    depth_k = serializers.IntegerField(required=False, min_value=1, max_value=100)
    raters_per_item = serializers.IntegerField(required=False, min_value=1, max_value=SMALLINT_MAX)
    min_years_coaching = serializers.IntegerField(required=False, min_value=0, max_value=SMALLINT_MAX)
    quota_per_coach = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=INT_MAX)
    seed = serializers.IntegerField(required=False, min_value=0, max_value=INT_MAX)
    reservation_minutes = serializers.IntegerField(required=False, min_value=1, max_value=SMALLINT_MAX)
    break_every = serializers.IntegerField(required=False, min_value=0, max_value=SMALLINT_MAX)
    gold_rate = serializers.FloatField(required=False, min_value=0.0, max_value=0.5)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Study
        fields = [
            "id",
            "title",
            "slug",
            "status",
            "status_message",
            "instructions",
            *(name for fields in DESIGN_PARTS.values() for name in fields),
            "group",
            "created_by",
            "created",
            "published",
            "closed",
        ]
        read_only_fields = ["status", "status_message", "created", "published", "closed"]

    def validate_group(self, group: Group | None) -> Group | None:
        user = self.context["request"].user
        if group is not None and not user.is_superuser and not user.groups.filter(pk=group.pk).exists():
            raise serializers.ValidationError(
                f"You are not a member of the group “{group.name}”: choose one of your groups, or none."
            )
        return group

    def validate(self, data: dict) -> dict:
        """The admin form's checks, on the design as it will be after this request."""

        def final(name: str):
            if name in data:
                return data[name]
            if self.instance is not None:
                value = getattr(self.instance, name)
                return list(value.all()) if name == "methods" else value
            return Study._meta.get_field(name).get_default() if name != "methods" else []

        errors: dict[str, str] = {}
        low, high = final("scale_min"), final("scale_max")
        if high <= low:
            errors["scale_max"] = "The scale needs at least two points: make the maximum larger than the minimum."
        labels = final("scale_labels")
        if labels is None:
            labels = {}
        if not isinstance(labels, dict):
            errors["scale_labels"] = f"Give labels as an object such as {LABELS_EXAMPLE}."
        elif high > low:
            outside = [key for key in labels if not str(key).lstrip("-").isdigit() or not low <= int(key) <= high]
            if outside:
                errors["scale_labels"] = f"Labels for points outside the scale {low}..{high}: {', '.join(outside)}."
            elif not all(isinstance(text, str) for text in labels.values()):
                errors["scale_labels"] = f"Each label must be text, as in {LABELS_EXAMPLE}."
            elif any("\x00" in text for text in [*labels, *labels.values()]):
                errors["scale_labels"] = "Labels may contain no NUL characters (\\u0000): remove them."
        if final("kinds") in {Study.Kinds.PAIRWISE, Study.Kinds.BOTH} and len(final("methods")) < 2:
            errors["methods"] = "Pairwise comparisons need at least two methods."
        if errors:
            raise serializers.ValidationError(errors)
        if "scale_labels" in data and data["scale_labels"] is None:
            data["scale_labels"] = {}
        return data


class ItemSerializer(serializers.ModelSerializer):
    """An item as the researcher sees it: which clips, credited to which methods at which ranks."""

    class Meta:
        model = Item
        fields = [
            "id",
            "kind",
            "key",
            "query",
            "clip_a",
            "clip_b",
            "credits_a",
            "credits_b",
            "method_pair",
            "swapped",
            "is_gold",
            "gold_answer",
            "needed",
            "load",
            "judgements_done",
            "flagged",
            "order_key",
        ]
        read_only_fields = fields


class BarSerializer(serializers.Serializer):
    label = serializers.CharField()
    done = serializers.IntegerField()
    required = serializers.IntegerField()
    percent = serializers.IntegerField()


class StudyProgressSerializer(serializers.Serializer):
    """``studies.progress.StudyProgress``: judgements done against required, overall and by group."""

    status = serializers.CharField()
    overall = BarSerializer()
    by_kind = BarSerializer(many=True)
    by_pair = BarSerializer(many=True, help_text="Pairwise items by method pair, labelled 'x vs y'.")
    by_coach = BarSerializer(many=True, help_text="Judgements per coach; required is the quota, or 0 for none.")
    flagged_items = serializers.IntegerField()
    median_seconds_per_item = serializers.FloatField(allow_null=True)


class ProblemSerializer(serializers.Serializer):
    """A refused lifecycle action: what is wrong, and each problem to fix."""

    detail = serializers.CharField()
    code = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())
