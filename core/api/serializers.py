"""How a job looks in the API: a summary in lists, and in detail its errors, parameters and result."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.models import Job


class JobSummarySerializer(serializers.ModelSerializer):
    """A job as lists show it: what, where it stands, how far along (no error details)."""

    percent = serializers.IntegerField(read_only=True, help_text="done / total, 0 to 100.")
    is_finished = serializers.BooleanField(read_only=True, help_text="done, failed or cancelled: stop polling.")

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "status",
            "done",
            "total",
            "percent",
            "error_count",
            "message",
            "is_finished",
            "created",
            "started",
            "finished",
        ]
        read_only_fields = fields


class JobErrorSerializer(serializers.Serializer):
    item = serializers.CharField(help_text="What failed: a query and method, a video, a manifest line.")
    error = serializers.CharField(help_text="Why, and what to do.")
    line = serializers.IntegerField(required=False, help_text="For manifest imports: the 1-based line.")
    field = serializers.CharField(required=False, help_text="For manifest imports: the field on that line.")


class JobSerializer(JobSummarySerializer):
    """A job with its details: the first 1,000 per-item errors, its parameters and, when it has one, its result."""

    errors = JobErrorSerializer(many=True, read_only=True)
    params = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField(
        help_text="What the job produced, once finished; for imports the counts (`videos new`, ...)."
    )

    class Meta(JobSummarySerializer.Meta):
        fields = [*JobSummarySerializer.Meta.fields, "errors", "params", "result"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_params(self, job: Job) -> dict[str, Any]:
        # Task names are plumbing; the result has its own field.
        hidden = {"task", "finalize_task", "result", "upload"}
        return {key: value for key, value in (job.params or {}).items() if key not in hidden}

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_result(self, job: Job) -> dict[str, Any] | None:
        return (job.params or {}).get("result")
