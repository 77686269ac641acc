"""The export's job now lives in core: the foreign key follows, in the migration state only.

The column and its constraint already point at ``retrieval_backend_job``, the table
core's Job keeps, so nothing is run on the database.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0004_judgement_api_pages"),
        ("core", "0001_initial"),
    ]

    # retrieval_backend forgets its Job only once nothing points at it. Said here, not as a dependency
    # there, because retrieval_backend knows nothing of annotations.
    run_before = [("retrieval_backend", "0004_job_moved_to_core")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="studyexport",
                    name="job",
                    field=models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="study_export",
                        to="core.job",
                    ),
                ),
            ],
        ),
    ]
