"""What the researcher's side of the annotations API returns: judgements, the cached report, exports."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.models import Judgement, StudyExport


class JudgementSerializer(serializers.ModelSerializer):
    coach = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # Blank for Likert items and flagged tasks (a read-only model field would not say so in the schema).
    choice = serializers.ChoiceField(choices=Judgement.Choice.choices, allow_blank=True, read_only=True)
    winner = serializers.ChoiceField(choices=Judgement.Winner.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Judgement
        fields = [
            "id",
            "study",
            "item",
            "kind",
            "coach",
            "choice",
            "winner",
            "score",
            "rationale",
            "flag",
            "watch_ms",
            "server_ms",
            "created",
            "revised",
            "revision",
        ]
        read_only_fields = fields


class ReportSerializer(serializers.Serializer):
    """Common to the agreement and leaderboard answers: whether the cached report is there and current."""

    state = serializers.ChoiceField(
        choices=["current", "updating", "computing", "failed"],
        help_text="current: computed from every judgement; updating: new judgements since, a worker is "
        "recomputing; computing: no report yet, ask again shortly; failed: the last computation failed.",
    )
    message = serializers.CharField()
    computed = serializers.DateTimeField(allow_null=True)


class AgreementSerializer(ReportSerializer):
    counts = serializers.DictField(allow_null=True, help_text="Items, judgements, coaches, ... behind the figures.")
    agreement = serializers.DictField(
        allow_null=True, help_text="Krippendorff's alpha, Fleiss' kappa, percent agreement: overall, by sport, by pair."
    )


class LeaderboardSerializer(ReportSerializer):
    leaderboard = serializers.DictField(allow_null=True, help_text="Bradley-Terry strengths of the methods.")
    pairs = serializers.DictField(allow_null=True, help_text="Wins, ties and tests per method pair.")
    win_matrix = serializers.DictField(allow_null=True)
    likert = serializers.DictField(allow_null=True, help_text="Likert scores per method and rank.")


class ExportProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class ExportRequestSerializer(serializers.Serializer):
    include_identities = serializers.BooleanField(
        default=False,
        help_text="Name coaches by user name and email instead of pseudonyms (personal data): "
        "needs the permission to change studies.",
    )


class ExportSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(help_text="Rows written of rows to write, while it runs.")
    download_url = serializers.SerializerMethodField(help_text="Where to fetch the zip once status is done.")
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = StudyExport
        fields = [
            "id",
            "study",
            "status",
            "include_identities",
            "judgements",
            "size_bytes",
            "sha256",
            "error",
            "requested_by",
            "created",
            "finished",
            "progress",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(ExportProgressSerializer(allow_null=True))
    def get_progress(self, export: StudyExport) -> dict[str, int] | None:
        job = export.job
        return {"done": job.done, "total": job.total} if job is not None else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, export: StudyExport) -> str | None:
        if not export.is_offered:
            return None
        url = reverse("api:study-export-download", kwargs={"pk": export.study_id, "export_id": export.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url
