"""The content types of Job and JobChunk follow the models to core.

Permissions granted on jobs and the admin's history of them point at these rows,
so the rows are relabelled rather than created anew. This runs inside ``migrate``,
before its ``post_migrate`` signal creates the content types of models it has not
seen: after the relabelling ``core | job`` exists, and no duplicate is made.
"""

from __future__ import annotations

from django.db import migrations

MODELS = ("job", "jobchunk")


def _relabel(apps, schema_editor, *, old: str, new: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    for model in MODELS:
        moving = content_types.filter(app_label=old, model=model)
        if not moving.exists():
            continue  # a fresh database: post_migrate creates the row under its new label
        # A `migrate core` run on its own lets post_migrate create the new row before the old one moved;
        # that row is newer than every grant and log entry, which all point at the old one, so it goes.
        content_types.filter(app_label=new, model=model).delete()
        moving.update(app_label=new)


def to_core(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="retrieval_backend", new="core")


def back_to_retrieval_backend(apps, schema_editor) -> None:
    _relabel(apps, schema_editor, old="core", new="retrieval_backend")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(to_core, back_to_retrieval_backend)]
