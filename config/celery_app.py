"""The Celery application. Workers: ``celery -A config worker -Q default,render`` (CPU), ``-Q gpu`` (GPU)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("coachbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
