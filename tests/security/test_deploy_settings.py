"""Production settings pass Django's deployment checks, and every page carries the security headers."""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "SESSION_"))}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "coach.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://coach.example.org",
            "VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": "postgres://coachbench@db.internal:5432/coachbench",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "CACHE_URL": "redis://redis.internal:6379/1",
            "VIDEO_ALLOWED_ROOTS": str(tmp_path / "videos"),
            "VIDEO_ALLOWED_URL_PREFIXES": "https://videos.example.org/",
        }
    )
    return env


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_of_unconfined_video_paths_and_per_process_login_counts(tmp_path):
    env = _production_env(tmp_path)
    del env["VIDEO_ALLOWED_ROOTS"], env["CACHE_URL"], env["VIDEO_ALLOWED_URL_PREFIXES"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "(coachbench.W001) VIDEO_ALLOWED_ROOTS is empty" in output
    assert "(coachbench.W002) The cache is in each process's memory" in output
    assert "Set CACHE_URL=redis://" in output
    assert "(coachbench.W003) VIDEO_ALLOWED_URL_PREFIXES is empty" in output


def test_production_settings_turn_every_protection_on(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ["
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_CONTENT_TYPE_NOSNIFF', "
        "'X_FRAME_OPTIONS', 'SECURE_REFERRER_POLICY', 'CONTENT_SECURITY_POLICY', 'MIDDLEWARE', 'CACHES']}, "
        "default=str))"
    )
    env = {**_production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"]
    assert values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert "csp.middleware.CSPMiddleware" in values["MIDDLEWARE"]
    # Log-in counts shared by every web process.
    assert values["CACHES"]["default"]["BACKEND"].endswith("RedisCache")
    directives = values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert directives["script-src"] == directives["style-src"] == ["'self'"]
    assert directives["object-src"] == directives["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["login", "password_reset", "admin:login", "api-docs", "api-redoc"])
def test_pages_carry_the_policy(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    page = response.content.decode()
    # Every script is a file from this site.
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag, tag
    if name != "api-redoc":  # ReDoc alone writes its own <style> elements while it renders
        assert policy["style-src"] == "'self'"


def test_the_swagger_start_up_script_is_served_as_a_script(client, db):
    response = client.get(reverse("api-docs") + "?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


# What a template or HTML-writing Python call may not contain under the policy.
FORBIDDEN = {
    "an inline <script>": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "an on*= event handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "an hx-on attribute": re.compile(r"\shx-on[:=-]", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
    "a style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "a <style> element": re.compile(r"<style\b", re.I),
}
HTML_WRITERS = {"format_html", "format_html_join", "mark_safe", "HttpResponse", "SafeString"}
TEMPLATE_COMMENT = re.compile(r"{% comment %}.*?{% endcomment %}|{#.*?#}", re.S)


def _html_in_python(path: Path) -> list[tuple[int, str]]:
    """The string literals passed to the calls that write HTML, with their line numbers."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in HTML_WRITERS:
                for arg in node.args:
                    found += [
                        (const.lineno, const.value)
                        for const in ast.walk(arg)
                        if isinstance(const, ast.Constant) and isinstance(const.value, str)
                    ]
    return found


def _html_sources() -> list[tuple[str, int, str]]:
    sources = []
    for path in (ROOT / "templates").rglob("*"):
        if path.is_file():
            text = TEMPLATE_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text())
            sources.append((str(path.relative_to(ROOT)), 1, text))
    for app in ("annotations", "studies", "retrieval_backend", "config"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                sources += [(str(path.relative_to(ROOT)), line, text) for line, text in _html_in_python(path)]
    return sources


def test_no_template_or_view_writes_inline_script_or_style():
    found = []
    for where, first_line, text in _html_sources():
        for what, pattern in FORBIDDEN.items():
            for match in pattern.finditer(text):
                found.append(f"{where}:{first_line + text.count(chr(10), 0, match.start())}: {what}")
    assert found == [], "\n".join(found)
