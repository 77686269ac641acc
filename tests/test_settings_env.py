"""The environment readers reject bad values with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list, parse_database_url

ROOT = Path(__file__).resolve().parent.parent


def test_it_reads_booleans_in_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", False)]:
        monkeypatch.setenv("COACHBENCH_FLAG", raw)
        assert env_bool("COACHBENCH_FLAG", not expected) is expected


def test_it_names_the_variable_of_a_bad_boolean(monkeypatch):
    monkeypatch.setenv("COACHBENCH_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="COACHBENCH_FLAG='maybe' is not a boolean"):
        env_bool("COACHBENCH_FLAG", False)


def test_it_rejects_non_numbers_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("COACHBENCH_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("COACHBENCH_N", 1)
    monkeypatch.setenv("COACHBENCH_N", "-3")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 0"):
        env_int("COACHBENCH_N", 1, minimum=0)


def test_it_splits_lists_and_checks_choices(monkeypatch):
    monkeypatch.setenv("COACHBENCH_HOSTS", "a.org, b.org,,")
    assert env_list("COACHBENCH_HOSTS", []) == ["a.org", "b.org"]
    monkeypatch.setenv("TORCH_DEVICE_TEST", "tpu")
    with pytest.raises(ImproperlyConfigured, match="choose one of auto, cpu, cuda"):
        env_choice("TORCH_DEVICE_TEST", "auto", ("auto", "cpu", "cuda"))


def test_it_parses_postgres_and_sqlite_urls():
    pg = parse_database_url("postgres://bob:s%40cret@db.internal:6543/coach?sslmode=require")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "bob",
        "s@cret",
        "db.internal",
        "6543",
        "coach",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert parse_database_url("sqlite:////srv/cb.sqlite3")["NAME"] == "/srv/cb.sqlite3"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "unsupported scheme"),
        ("postgres://host:5432/", "names no database"),
        ("postgres://host:port/db", "port that is not a number"),
        ("sqlite://", "names no database file"),
    ],
)
def test_it_explains_what_is_wrong_with_a_database_url(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url(url)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checklist():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="coachbench.example.org",
        # coachbench's own deployment checks (core.checks) want these.
        VIDEO_ALLOWED_ROOTS="/srv/coachbench/videos",
        VIDEO_ALLOWED_URL_PREFIXES="https://videos.example.org/",
        CACHE_URL="redis://redis.internal:6379/1",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_production_without_a_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="0", ALLOWED_HOSTS="coachbench.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_a_cache_url_of_an_unknown_kind_is_refused_with_the_forms_it_accepts():
    result = _manage("check", CACHE_URL="memcached://cache:11211")
    assert result.returncode != 0
    assert "CACHE_URL='memcached://cache:11211': use redis://host:port/db" in result.stderr


def test_a_redis_cache_url_selects_django_s_redis_cache():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])",
        CACHE_URL="redis://127.0.0.1:6379/9",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "django.core.cache.backends.redis.RedisCache"


def test_an_allowed_video_url_prefix_that_is_not_an_http_url_is_refused_at_start():
    result = _manage("check", VIDEO_ALLOWED_URL_PREFIXES="videos.example.org")
    assert result.returncode != 0
    assert "VIDEO_ALLOWED_URL_PREFIXES: 'videos.example.org' is not an http(s) URL with a host" in result.stderr


@pytest.mark.parametrize(("threshold", "expected"), [(None, "5"), ("0", "None"), ("1", "1")])
def test_prepared_statements_on_postgresql_follow_the_threshold_setting(threshold, expected):
    env = {"DATABASE_URL": "postgres://coachbench@db.internal:5432/coachbench"}
    if threshold is not None:
        env["DATABASE_PREPARE_THRESHOLD"] = threshold
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])", **env
    )
    assert result.returncode == 0, result.stderr
    assert f"'prepare_threshold': {expected}" in result.stdout


def test_a_bad_prepare_threshold_is_refused_with_the_variable_named():
    result = _manage(
        "check",
        DATABASE_URL="postgres://coachbench@db.internal:5432/coachbench",
        DATABASE_PREPARE_THRESHOLD="often",
    )
    assert result.returncode != 0
    assert "DATABASE_PREPARE_THRESHOLD" in result.stderr
