"""Query-string filters of the gallery endpoints, each one an indexed lookup at gallery scale (630k clips).

Lists are cursor-paginated in id order, so a filter only has to narrow rows an
index finds (sport, video, skill, external id); nothing here counts the table.
Text search in narrations and mistakes is a scan, so it needs a narrowing
filter next to it.
"""

from __future__ import annotations

import django_filters
from rest_framework.exceptions import ValidationError

from retrieval_backend.models import Candidate, Clip, MistakeQuery, RetrievalMethod, Sport, Video

# Text search scans the rows left by these filters; one of them must narrow the scan first.
NARROWING = ("sport", "video", "skill")
SPORT_HELP = "Sport slug, e.g. `basketball`."


def by_sport(queryset, name, value):
    """Rows of the sport with this slug, looked up first so the database plans with that sport's id.

    Joined on the slug, the planner can't know which sport it is and assumes an
    average one; a sport imported in one go, late in id order, then costs a walk
    over every other sport's rows. With the id it reads the (sport, id) index.
    """
    sport_id = Sport.objects.filter(slug=value).values_list("id", flat=True).first()
    return queryset.filter(sport_id=sport_id) if sport_id is not None else queryset.none()


# An id the database can hold: anything else (1e300, -5) is a 400, not an overflow in the query.
ID_RANGE = {"min_value": 1, "max_value": 2**63 - 1}


class SportFilter(django_filters.FilterSet):
    slug = django_filters.CharFilter(help_text="The sport's slug, e.g. `ice-hockey`.")

    class Meta:
        model = Sport
        fields = ["slug"]


class VideoFilter(django_filters.FilterSet):
    sport = django_filters.CharFilter(method=by_sport, help_text=SPORT_HELP)
    role = django_filters.ChoiceFilter(choices=Video.Role.choices, help_text="`gallery` or `query`.")
    probe_status = django_filters.ChoiceFilter(choices=Video.ProbeStatus.choices)
    external_id = django_filters.CharFilter(help_text="The id the manifest gave the video.")
    sha256 = django_filters.CharFilter(help_text="Content hash, as probing found it.")

    class Meta:
        model = Video
        fields = ["sport", "role", "probe_status", "external_id", "sha256"]


class _TextSearchFilterSet(django_filters.FilterSet):
    """A FilterSet whose ``text_field`` search (``?q=``) is refused unless a narrowing filter is given too."""

    text_field = ""

    def filter_queryset(self, queryset):
        if self.form.cleaned_data.get("q") and not any(self.form.cleaned_data.get(name) for name in NARROWING):
            raise ValidationError(
                {"q": [f"text search scans the {self.text_field}s; narrow it with sport, video or skill as well."]}
            )
        return super().filter_queryset(queryset)

    def search(self, queryset, name, value):
        return queryset.filter(**{f"{self.text_field}__icontains": value})


class ClipFilter(_TextSearchFilterSet):
    text_field = "narration"

    sport = django_filters.CharFilter(method=by_sport, help_text=SPORT_HELP)
    video = django_filters.NumberFilter(field_name="video_id", help_text="Video id.", **ID_RANGE)
    skill = django_filters.CharFilter(help_text="Exact skill, e.g. `jump shot`.")
    external_id = django_filters.CharFilter(help_text="The clip id the manifest gave.")
    q = django_filters.CharFilter(
        method="search",
        help_text="Words in the narration (case-insensitive); needs `sport`, `video` or `skill` as well.",
    )

    class Meta:
        model = Clip
        fields = ["sport", "video", "skill", "external_id", "q"]


class MistakeQueryFilter(_TextSearchFilterSet):
    text_field = "mistake"

    sport = django_filters.CharFilter(method=by_sport, help_text=SPORT_HELP)
    video = django_filters.NumberFilter(field_name="video_id", help_text="Recording (video) id.", **ID_RANGE)
    skill = django_filters.CharFilter(help_text="Exact skill, e.g. `jump shot`.")
    external_id = django_filters.CharFilter(help_text="The query id the manifest gave.")
    q = django_filters.CharFilter(
        method="search",
        help_text="Words in the mistake (case-insensitive); needs `sport`, `video` or `skill` as well.",
    )

    class Meta:
        model = MistakeQuery
        fields = ["sport", "video", "skill", "external_id", "q"]


class RetrievalMethodFilter(django_filters.FilterSet):
    backend = django_filters.CharFilter(help_text="Backend name, e.g. `random` or `imported`.")

    class Meta:
        model = RetrievalMethod
        fields = ["backend"]


class CandidateFilter(django_filters.FilterSet):
    query = django_filters.CharFilter(
        field_name="candidate_set__query__external_id", help_text="The mistake query's external id."
    )
    method = django_filters.CharFilter(field_name="candidate_set__method__name", help_text="The method's name.")

    class Meta:
        model = Candidate
        fields = ["query", "method"]
