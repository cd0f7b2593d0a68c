"""One settings module, driven by the environment (documented in .env.example).

With nothing set it runs on the embedded default: SQLite and a filesystem Celery broker
under ./var, so `make run` needs no server. Set DATABASE_URL / REDIS_URL for PostgreSQL and
Redis (production, CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    # Set but empty counts as unset: docker-compose passes `${NAME:-}` through as "".
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # Only with DEBUG on (refused above otherwise), so `make run` needs no set-up.
    SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnop"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's assets served by us, so /api/docs/ works offline (no CDN).
    "drf_spectacular_sidecar",
    # UI sign-in lockout with backoff (pushmarketing.core.login_lockout).
    "axes",
    # The core keeps the app label "pushmarketing" (its tables and migrations).
    "pushmarketing.core",
    "devices",
    "notifications",
    "campaigns",
    "inapp",
    # The shell (label "pushmarketing_shell"): management commands and the overview tag.
    "pushmarketing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the others: its 413 answers before the session is read, and it sees the 404 and
    # 405 answers after CommonMiddleware had its say (the slash redirect).
    "pushmarketing.core.api_middleware.ApiErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language first; UserLanguageMiddleware below (after auth) replaces it
    # with the user's own choice, and keeps the APIs in English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pushmarketing.core.locale.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pushmarketing.urls"
WSGI_APPLICATION = "pushmarketing.wsgi.application"

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
                "pushmarketing.core.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'pushmarketing.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write while the web process reads; the busy timeout rides out the
    # short write locks the two processes take on the embedded default.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests: a file (not :memory:) so the real Celery worker subprocess opens the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_pushmarketing.sqlite3")}
else:
    # Off, as Django ships it: a health check is one more `SELECT 1` round trip on every
    # request (a tenth of a registration's cost). Without it a connection broken by a database
    # restart fails one request per process, which then reconnects.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)
    # Server-side binding, and psycopg preparing a statement once a connection has run it 5
    # times: the hot statements (SDK register, the send path) skip PostgreSQL's parse and
    # plan, which cost more than running them. DB_PREPARED_STATEMENTS=0 for a pooler that
    # cannot carry prepared statements (PgBouncer before 1.21 in transaction mode).
    if env_bool("DB_PREPARED_STATEMENTS", True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USES_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Redis, cache and Celery ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # Embedded default: a file-based cache and kombu's filesystem transport. Both are shared
    # by every local process (web, worker, scheduler) without running a server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # PM_BROKER_DIR lets the integration tests give the worker and themselves a private broker.
    _broker_dir = Path(env_str("PM_BROKER_DIR", str(VAR_DIR / "broker")))
    for _folder in ("queue", "processed", "control"):
        # kombu's filesystem transport does not create its folders.
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport with atomic writes (pushmarketing/core/filesystem_broker.py).
    CELERY_BROKER_URL = "pmfs://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # kombu polls an empty folder once a second by default: every hop of a trigger (the
        # pump, then the send) would wait up to that long. A folder listing is cheap.
        "polling_interval": 0.05,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TIMEZONE = "UTC"
# Queues (pushmarketing/core/celery.py): `interactive` (samples, credential verification:
# a lane of its own), `send` (trigger and API sends, latency), `bulk` (batch chunks),
# `default` (resolution, scheduling, housekeeping). A big batch never starves a trigger send.
CELERY_TASK_ROUTES = {
    "campaigns.deliveries_send": {"queue": "bulk"},
    "campaigns.deliveries_sweep": {"queue": "default"},
    "campaigns.deliveries_sweep_orphans": {"queue": "default"},
    "campaigns.run_resolve": {"queue": "default"},
    "campaigns.schedules_tick": {"queue": "default"},
    "campaigns.run_report_refresh": {"queue": "default"},
    "campaigns.run_reports_refresh_due": {"queue": "default"},
    "campaigns.push_credential_verify": {"queue": "interactive"},
    "campaigns.triggers_drain": {"queue": "send"},
    "core.rate_counters_purge": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE = {
    "deliveries-sweep": {"task": "campaigns.deliveries_sweep", "schedule": 60.0},
    "run-reports-refresh": {"task": "campaigns.run_reports_refresh_due", "schedule": 20.0},
    # The rate-limit windows' database counters (cache not Redis); a no-op statement elsewhere.
    "rate-counters-purge": {"task": "core.rate_counters_purge", "schedule": 600.0},
}

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes counts failed sign-ins per username and client address (an attacker cannot lock
# a user out from elsewhere) in the database, which is atomic on both backends.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = "pushmarketing.core.login_lockout.login_cooloff"
AXES_LOCKOUT_CALLABLE = "pushmarketing.core.login_lockout.login_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # the backoff counts recent failures there
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The UI's languages, named in their own language in the picker. Adding one: add it here, then
# `make messages` (see the README, "The UI in French").
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# SDK bodies are small; anything bigger is refused before it reaches a view.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["pushmarketing.core.api_parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "sdk_app": env_str("SDK_RATE_LIMIT", "3000/min"),
        "management": env_str("MANAGEMENT_RATE_LIMIT", "600/min"),
        # Wrong SDK secrets per app key and client address (devices.auth_failures).
        "sdk_auth_failure": env_str("SDK_AUTH_FAILURE_RATE_LIMIT", "60/min"),
    },
    # Proxies in front of the web process that append to X-Forwarded-For (nginx in the
    # compose file): the client address is read that many hops from the right. 0: REMOTE_ADDR.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "EXCEPTION_HANDLER": "pushmarketing.core.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PushMarketing API",
    "DESCRIPTION": "SDK API (per-app key and secret) and management API (per-user token).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docstrings are for the code's readers (they name modules, costs, pitfalls); what the
    # schema says is written for it: `description=` and `help_text`.
    "DISABLE_DOCSTRING_DESCRIPTIONS": True,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the chart series unit (sends_unit and tap_decay_unit share its choices).
    "ENUM_NAME_OVERRIDES": {"SeriesUnitEnum": "campaigns.models.SeriesUnit"},
    "TAGS": [
        {"name": "SDK", "description": "Called by the mobile app: HTTP Basic, SDK key:secret."},
        {"name": "Management", "description": "Integrations: `Authorization: Bearer` + API token."},
    ],
}

# --- Push -----------------------------------------------------------------------------------
# Fernet keys (comma-separated, newest first) for credentials at rest. In DEBUG a key is
# derived from SECRET_KEY so the demo works out of the box; production must set it.
PUSH_CREDENTIALS_KEYS = env_list("PUSH_CREDENTIALS_KEY")
if not PUSH_CREDENTIALS_KEYS and not DEBUG:
    raise ImproperlyConfigured("PUSH_CREDENTIALS_KEY must be set when DEBUG is off")

# The built-in provider simulator (on by default in DEBUG). While it is enabled, the provider
# endpoints below default to it, so `make run` sends real pushes without Apple or Google.
PUSH_SIMULATOR_ENABLED = env_bool("PUSH_SIMULATOR_ENABLED", DEBUG)
PUSH_SIMULATOR_HOST = env_str("PUSH_SIMULATOR_HOST", "127.0.0.1")
PUSH_SIMULATOR_FCM_PORT = env_int("PUSH_SIMULATOR_FCM_PORT", 8701)
PUSH_SIMULATOR_APNS_PORT = env_int("PUSH_SIMULATOR_APNS_PORT", 8702)
PUSH_SIMULATOR_DIR = Path(env_str("PUSH_SIMULATOR_DIR", str(VAR_DIR / "simulator")))
_simulated = PUSH_SIMULATOR_ENABLED
_sim_fcm = f"http://{PUSH_SIMULATOR_HOST}:{PUSH_SIMULATOR_FCM_PORT}"
FCM_BASE_URL = env_str(
    "FCM_BASE_URL", _sim_fcm if _simulated else "https://fcm.googleapis.com"
).rstrip("/")
FCM_TOKEN_URI_OVERRIDE = env_str(
    "FCM_TOKEN_URI_OVERRIDE", f"{_sim_fcm}/token" if _simulated else ""
)
# The simulator tells sandbox from production by the host name it is reached by.
APNS_HOST_PRODUCTION = env_str(
    "APNS_HOST_PRODUCTION", PUSH_SIMULATOR_HOST if _simulated else "api.push.apple.com"
)
APNS_HOST_SANDBOX = env_str(
    "APNS_HOST_SANDBOX", "localhost" if _simulated else "api.sandbox.push.apple.com"
)
APNS_PORT = env_int("APNS_PORT", PUSH_SIMULATOR_APNS_PORT if _simulated else 443)
APNS_CA_FILE = env_str("APNS_CA_FILE", str(PUSH_SIMULATOR_DIR / "ca.pem") if _simulated else "")
# Requests in flight per worker process. A chunk's sends come in waves of this many, each a
# provider round trip long: at 100 ms, 200 made 1,000 sends five round trips and the run kept
# only ~80 % of its 0 ms rate; 400 keeps ~90 % (docs/performance-history.md). APNs multiplexes
# them on two HTTP/2 connections; FCM (HTTP/1.1) opens up to this many per process (all apps).
PUSH_SEND_CONCURRENCY = env_int("PUSH_SEND_CONCURRENCY", 400)
PUSH_SEND_TIMEOUT_SECONDS = env_int("PUSH_SEND_TIMEOUT_SECONDS", 10)
# The send path (campaigns.delivery). Rows per send task: each chunk pays fixed statements
# (claim, load, credentials, its last record) and, with providers 20-100 ms away, a wait for
# its first answers and one for its last, in which that process sends nothing. 1,000 rather
# than 500 halved both per message: +12-15 % msg/s at 0 and 100 ms (docs/performance-history.md).
PUSH_CHUNK_SIZE = env_int("PUSH_CHUNK_SIZE", 1000)
PUSH_MAX_ATTEMPTS = env_int("PUSH_MAX_ATTEMPTS", 5)
PUSH_RETRY_BASE_SECONDS = env_int("PUSH_RETRY_BASE_SECONDS", 30)
# Upper bound on one retry delay (Retry-After included); tests shorten it.
PUSH_RETRY_MAX_SECONDS = env_int("PUSH_RETRY_MAX_SECONDS", 3600)
# A row `sending` for longer than this belongs to a dead worker; must exceed the longest batch
# (1,000 sends at PUSH_SEND_CONCURRENCY with PUSH_SEND_TIMEOUT_SECONDS each: under 60 s).
PUSH_SENDING_TIMEOUT_SECONDS = env_int("PUSH_SENDING_TIMEOUT_SECONDS", 300)
# Answers are recorded as they arrive, in small batches: every PUSH_RECORD_EVERY answers or
# once the oldest unrecorded one is PUSH_RECORD_INTERVAL_MS old, whichever comes first.
PUSH_RECORD_EVERY = env_int("PUSH_RECORD_EVERY", 50)
PUSH_RECORD_INTERVAL_MS = env_int("PUSH_RECORD_INTERVAL_MS", 100)
# Provider quotas shared by every worker (per app and provider), messages per minute.
PUSH_RATE_FCM_PER_MINUTE = env_int("PUSH_RATE_FCM_PER_MINUTE", 600_000)
PUSH_RATE_APNS_PER_MINUTE = env_int("PUSH_RATE_APNS_PER_MINUTE", 600_000)
# System health flags the trigger pipeline as behind when an activity has waited this long
# for evaluation (a healthy pipeline evaluates within a fraction of a second).
TRIGGER_BACKLOG_ALERT_SECONDS = env_int("TRIGGER_BACKLOG_ALERT_SECONDS", 10)
# System health turns a queue amber / red when its oldest message has waited this long, and
# a lane when its longest-waiting due delivery (not held for quiet hours, a schedule or a
# retry) has. A healthy `interactive`, `send` or `default` queue is emptied within seconds, and
# the sweeper (every minute) re-dispatches rows whose message was lost.
QUEUE_AGE_WARN_SECONDS = env_int("QUEUE_AGE_WARN_SECONDS", 30)
QUEUE_AGE_ALERT_SECONDS = env_int("QUEUE_AGE_ALERT_SECONDS", 120)
QUEUED_DELIVERY_WARN_SECONDS = env_int("QUEUED_DELIVERY_WARN_SECONDS", 60)
QUEUED_DELIVERY_ALERT_SECONDS = env_int("QUEUED_DELIVERY_ALERT_SECONDS", 300)
# `bulk` holds whole batches, both its messages and its rows: 1M devices are 1,000 chunks,
# which two bulk workers at ~1,000 msg/s each take ~500 s to drain, so a big batch's last
# chunk legitimately waits ~8 minutes.
BULK_QUEUE_AGE_WARN_SECONDS = env_int("BULK_QUEUE_AGE_WARN_SECONDS", 600)
BULK_QUEUE_AGE_ALERT_SECONDS = env_int("BULK_QUEUE_AGE_ALERT_SECONDS", 1800)
# Retention: a finished run's delivery rows are deleted this many days after it ended (its
# counters and report keep the figures); 0 keeps every row forever.
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 90)
# A stored push image nothing names (an upload replaced, a composer never saved) is deleted
# once it is this old (notifications.image_retention), daily.
UNREFERENCED_IMAGE_GRACE_HOURS = env_int("UNREFERENCED_IMAGE_GRACE_HOURS", 24)

# --- Metrics --------------------------------------------------------------------------------
# GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Where every process (gunicorn workers, Celery prefork children) keeps its counters for the
# endpoint to merge (pushmarketing.core.metrics); unset, each process counts only for itself.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Prometheus scrapes web:8000 on the internal network, without the proxy's
    # X-Forwarded-Proto; nginx refuses /metrics from outside (pushmarketing/deploy/nginx.conf).
    SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# One console handler on the root. Expected 4xx (a 403 for a role, a 404, a CSRF or host
# refusal) are one line without a traceback; 5xx keep theirs. The "django" logger's own
# handlers from Django's defaults are replaced, or every django.* record printed twice.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "client_errors": {"()": "pushmarketing.core.log_filters.ClientErrorsOnOneLine"},
        "routine_tasks": {"()": "pushmarketing.core.log_filters.RoutineTasksQuiet"},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        # Celery's own lines about each periodic task (see log_filters.RoutineTasksQuiet).
        **{
            name: {"filters": ["routine_tasks"]}
            for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")
        },
    },
}
