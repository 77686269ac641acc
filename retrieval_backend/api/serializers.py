"""How the gallery, the methods and candidates look in the API, and what a request may send (jobs: core.api)."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import serializers

from retrieval_backend.candidates.generation import MAX_K
from retrieval_backend.candidates.importing import IMPORTED_BACKEND
from retrieval_backend.methods import BackendParamsError, available_backends
from retrieval_backend.models import Candidate, Clip, MistakeQuery, RetrievalMethod, Sport, Video


class SportSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sport
        fields = ["id", "slug", "name"]


class VideoSerializer(serializers.ModelSerializer):
    sport = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Video
        fields = [
            "id",
            "sport",
            "role",
            "external_id",
            "title",
            "source_uri",
            *Video.PROBED_FIELDS,
            "created",
            "updated",
        ]
        read_only_fields = fields


class ClipSerializer(serializers.ModelSerializer):
    sport = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Clip
        fields = ["id", "external_id", "video", "sport", "start_s", "end_s", "skill", "narration", "created", "updated"]
        read_only_fields = fields


class MistakeQuerySerializer(serializers.ModelSerializer):
    sport = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    positives = serializers.SerializerMethodField(help_text="External ids of the clips known to help.")

    class Meta:
        model = MistakeQuery
        fields = [
            "id",
            "external_id",
            "video",
            "sport",
            "start_s",
            "end_s",
            "skill",
            "mistake",
            "positives",
            "created",
            "updated",
        ]
        read_only_fields = fields

    def get_positives(self, query: MistakeQuery) -> list[str]:
        # Prefetched by the view: one query per page, not per row.
        return sorted(clip.external_id for clip in query.positives.all())


class RetrievalMethodSerializer(serializers.ModelSerializer):
    """A method, checked as the admin checks it: an installed backend and parameters that backend accepts."""

    params = serializers.JSONField(
        required=False,
        help_text="The backend's parameters as a JSON object; unknown names are refused with the list of known ones.",
        error_messages={
            "invalid": "must be a JSON object of plain values: no NaN or Infinity, nor numbers too large for a "
            "float such as 1e400."
        },
    )

    class Meta:
        model = RetrievalMethod
        fields = ["id", "name", "backend", "params", "version", "description", "created"]
        read_only_fields = ["id", "created"]

    def validate_backend(self, value: str) -> str:
        if value == IMPORTED_BACKEND:
            return value
        backends = available_backends()
        if value not in backends:
            raise serializers.ValidationError(
                f"backend {value!r} is not installed here; choose one of {', '.join([*backends, IMPORTED_BACKEND])}."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        backend_name = attrs.get("backend", getattr(self.instance, "backend", None))
        params = attrs.get("params", getattr(self.instance, "params", None))
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise serializers.ValidationError({"params": ["must be a JSON object, for example {}."]})
        problem = _unstorable(params)
        if problem:
            raise serializers.ValidationError({"params": [problem]})
        if backend_name != IMPORTED_BACKEND:
            backend = available_backends().get(backend_name or "")
            if backend is not None:
                try:
                    backend.validate_params(params)
                except BackendParamsError as exc:
                    raise serializers.ValidationError({"params": [str(exc)]}) from None
        attrs["params"] = params
        return attrs


def _unstorable(value: Any) -> str:
    """Why a JSON value cannot be stored (PostgreSQL's jsonb refuses NaN, infinities and NUL characters), or ""."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:
        return "numbers must be finite (no NaN or Infinity, nor numbers too large for a float such as 1e400)."
    if "\\u0000" in text:
        return "text may not contain NUL characters (\\u0000)."
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode: an unpaired UTF-16 surrogate (such as \\ud800) is not a character."
    return ""


class GenerationRequestSerializer(serializers.Serializer):
    methods = serializers.ListField(
        child=serializers.CharField(max_length=100),
        min_length=1,
        max_length=50,
        help_text="Names of the retrieval methods to generate with.",
    )
    queries = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        max_length=100_000,
        help_text="External ids of the mistake queries; leave out for every query.",
    )
    k = serializers.IntegerField(min_value=1, max_value=MAX_K, default=10, help_text="Candidates per query.")

    def validate_methods(self, names: list[str]) -> list[RetrievalMethod]:
        names = list(dict.fromkeys(names))
        found = {m.name: m for m in RetrievalMethod.objects.filter(name__in=names)}
        unknown = [name for name in names if name not in found]
        if unknown:
            raise serializers.ValidationError(
                f"unknown method(s): {', '.join(unknown)}; create them first (POST /api/v1/methods/)."
            )
        return [found[name] for name in names]

    def validate_queries(self, external_ids: list[str]) -> list[MistakeQuery]:
        wanted = set(external_ids)
        found = list(MistakeQuery.objects.filter(external_id__in=wanted).only("id", "external_id"))
        unknown = sorted(wanted - {q.external_id for q in found})
        if unknown:
            shown = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
            raise serializers.ValidationError(f"unknown query id(s): {shown}.")
        if not found:
            raise serializers.ValidationError("name at least one query, or leave the field out for all of them.")
        return found


class CandidateSerializer(serializers.ModelSerializer):
    query = serializers.CharField(source="candidate_set.query.external_id", read_only=True)
    method = serializers.CharField(source="candidate_set.method.name", read_only=True)
    clip = serializers.CharField(source="clip.external_id", read_only=True, help_text="The clip's external id.")
    clip_id = serializers.IntegerField(read_only=True)
    source = serializers.CharField(source="candidate_set.source", read_only=True, help_text="generated or imported.")

    class Meta:
        model = Candidate
        fields = ["id", "query", "method", "rank", "clip", "clip_id", "score", "source"]
        read_only_fields = fields


class ManifestProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="1-based line of the manifest.")
    field = serializers.CharField(help_text="The field on that line, e.g. `clips[0].end`, or `line`.")
    message = serializers.CharField(help_text="What is wrong and what to write instead.")


class _RejectedLinesSerializer(serializers.Serializer):
    """What every manifest kind's import answers about the lines it left out."""

    rejected = serializers.IntegerField(help_text="Lines left out (with `skip_invalid`); their problems are listed.")
    problems = ManifestProblemSerializer(many=True, help_text="With `skip_invalid`: why each line was left out.")


class ManifestImportResultSerializer(_RejectedLinesSerializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="e.g. `videos new`, `clips updated`, `queries unchanged`."
    )
    probe_job = serializers.IntegerField(
        allow_null=True, help_text="With `probe=async`: the job probing the new videos (GET /api/v1/jobs/{id}/)."
    )


class ManifestErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Messages by line number, e.g. {"12": ["clips[0].end: ..."]}.',
    )
    problems = ManifestProblemSerializer(many=True, required=False)
    problem_count = serializers.IntegerField(required=False, help_text="All problems, when more than listed.")


class CandidateImportResultSerializer(_RejectedLinesSerializer):
    lines = serializers.IntegerField()
    sets = serializers.IntegerField(help_text="Candidate sets written.")
    replaced = serializers.IntegerField(help_text="Of those, sets that replaced an earlier one.")
    created_methods = serializers.ListField(child=serializers.CharField())
