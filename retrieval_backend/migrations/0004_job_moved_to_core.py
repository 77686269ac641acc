"""Job and JobChunk now live in core (``core.0001_initial``): forgotten here, in the migration state only.

Their tables keep their names and their rows, so nothing is dropped. Every foreign
key to them has been pointed at core first (see ``annotations.0005``'s run_before).
"""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("retrieval_backend", "0003_clip_list_indexes"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(model_name="jobchunk", name="job"),
                migrations.DeleteModel(name="Job"),
                migrations.DeleteModel(name="JobChunk"),
            ],
        ),
    ]
