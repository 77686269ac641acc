"""Job and JobChunk move here from retrieval_backend, in the migration state only.

Their tables (``retrieval_backend_job``, ``retrieval_backend_jobchunk``), indexes and
constraints were created by ``retrieval_backend.0001_initial`` and stay as they are:
nothing is run on the database. ``retrieval_backend.0004`` then forgets the models
there, after ``annotations.0005`` has pointed the export's foreign key here.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    # No dependency on retrieval_backend: core comes first in the one-way order. The tables this
    # state describes may be created later in the same run (a fresh database), which is harmless as
    # nothing here touches the database.
    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Job",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("kind", models.CharField(db_index=True, max_length=50)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "queued"),
                                    ("running", "running"),
                                    ("finalizing", "finalizing"),
                                    ("done", "done"),
                                    ("failed", "failed"),
                                    ("cancelled", "cancelled"),
                                ],
                                db_index=True,
                                default="queued",
                                max_length=12,
                            ),
                        ),
                        ("params", models.JSONField(blank=True, default=dict)),
                        ("done", models.PositiveIntegerField(default=0)),
                        ("total", models.PositiveIntegerField(default=0)),
                        ("errors", models.JSONField(blank=True, default=list)),
                        ("error_count", models.PositiveIntegerField(default=0)),
                        ("message", models.TextField(blank=True)),
                        ("celery_ids", models.JSONField(blank=True, default=list)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("started", models.DateTimeField(blank=True, null=True)),
                        ("finished", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "retrieval_backend_job",
                        "ordering": ["-created"],
                    },
                ),
                migrations.CreateModel(
                    name="JobChunk",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("index", models.PositiveIntegerField()),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "pending"),
                                    ("running", "running"),
                                    ("done", "done"),
                                    ("failed", "failed"),
                                ],
                                default="pending",
                                max_length=8,
                            ),
                        ),
                        ("payload", models.JSONField(blank=True, default=dict)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("error", models.TextField(blank=True)),
                        ("started", models.DateTimeField(blank=True, null=True)),
                        ("finished", models.DateTimeField(blank=True, null=True)),
                        (
                            "job",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="chunks", to="core.job"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "retrieval_backend_jobchunk",
                        "ordering": ["job", "index"],
                        "indexes": [models.Index(fields=["job", "status"], name="retrieval_b_job_id_c7eb60_idx")],
                        "constraints": [
                            models.UniqueConstraint(fields=("job", "index"), name="chunk_index_unique_per_job")
                        ],
                    },
                ),
            ],
        ),
    ]
