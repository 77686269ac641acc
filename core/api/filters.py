"""Query-string filters of the jobs list: by kind and by status, both indexed columns."""

from __future__ import annotations

import django_filters

from core.models import Job


class JobFilter(django_filters.FilterSet):
    kind = django_filters.CharFilter(help_text="e.g. `generate_candidates`, `import_gallery`, `probe_videos`.")
    status = django_filters.ChoiceFilter(choices=Job.Status.choices)

    class Meta:
        model = Job
        fields = ["kind", "status"]
