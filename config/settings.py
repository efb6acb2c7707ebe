"""Settings. The only module that reads the environment.

Three modes, chosen by DJANGO_ENV:
- development (default): SQLite file and kombu's filesystem broker under var/, so `make run` needs no server;
- test: PostgreSQL and Redis on localhost unless DATABASE_URL / REDIS_URL say otherwise;
- production: everything sensitive must be given; `manage.py check --deploy` is clean.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from connector.redis_client import celery_broker

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, not {raw!r}")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envsecret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    value = os.environ.get(name, "").strip()
    path = os.environ.get(f"{name}_FILE", "").strip()
    if value and path:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {exc.strerror}") from None
    return value


def _local_secret(filename: str, make) -> str:
    """Development only: a random secret kept in var/ so restarts keep sessions and encrypted data."""
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


ENVIRONMENT = os.environ.get("DJANGO_ENV", "development").strip().lower()
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {ENVIRONMENT!r}")
PRODUCTION = ENVIRONMENT == "production"
TESTING = ENVIRONMENT == "test"

DEBUG = envbool("DJANGO_DEBUG", ENVIRONMENT == "development")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG cannot be on in production")

SECRET_KEY = envsecret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required in production")
    SECRET_KEY = _local_secret("dev-secret-key", lambda: secrets.token_urlsafe(50))

# Fernet keys for secrets at rest, newest first (comma-separated); older keys still decrypt during rotation.
FIELD_ENCRYPTION_KEYS = envlist("FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is required in production; make one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        )
    from cryptography.fernet import Fernet

    FIELD_ENCRYPTION_KEYS = [_local_secret("dev-fernet-key", lambda: Fernet.generate_key().decode())]

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is required in production")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# The public base URL of this service, used in the webhook URLs shown to admins.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "axes",
    "drf_spectacular",
    "accounts",
    "connector",
    "deliveries",
    "linking",
    "notifications",
    "inbox",
    "pipeline",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pipeline.middleware.WebhookFastPathMiddleware",  # webhooks skip the rest: no sessions, CSRF or static files
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into the page that says so (429)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
]

_default_db = {
    "development": f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
    "test": "postgres://postgres@127.0.0.1:5432/connector",
    "production": "",
}[ENVIRONMENT]
DATABASE_URL = os.environ.get("DATABASE_URL", _default_db)
if not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL is required in production")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
if TESTING and DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # One test database per test run, so several runs on one machine (developers, CI) never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let the web, worker and beat processes share the file without
    # "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint("DB_CONNECT_TIMEOUT", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never outside tests

# Guessing passwords: after LOGIN_FAILURE_LIMIT wrong ones in a row, that account is locked from that address
# (another address, or another account, still signs in). Axes refuses before any password is hashed, so a
# flood costs no CPU. The lock lasts LOGIN_LOCKOUT_MINUTES, or until a people manager lifts it (0, the default).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out requests
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
_lockout_minutes = envint("LOGIN_LOCKOUT_MINUTES", 0)
AXES_COOLOFF_TIME = _lockout_minutes / 60 if _lockout_minutes else None  # hours
AXES_RESET_ON_SUCCESS = True  # "in a row": a successful sign-in forgets earlier typos
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLE_ADMIN = True  # superusers see and delete attempts in the Django admin, too
# Behind a reverse proxy every sign-in would come from the proxy's address, so one attacker would lock the
# account for everyone: count the proxies whose X-Forwarded-For entries we trust (by default the TLS proxy
# production assumes, see BEHIND_TLS_PROXY below).
LOGIN_TRUSTED_PROXIES = envint("LOGIN_TRUSTED_PROXIES", 1 if PRODUCTION and envbool("BEHIND_TLS_PROXY", True) else 0)
AXES_CLIENT_IP_CALLABLE = "accounts.sign_in.client_address"
AXES_USERNAME_CALLABLE = "accounts.sign_in.client_username"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful sign-in: it would grow forever and tells us nothing we use

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Redis and Celery -------------------------------------------------------------------------------------
_default_redis = {"development": "", "test": "redis://127.0.0.1:6379/9", "production": ""}[ENVIRONMENT]
REDIS_URL = os.environ.get("REDIS_URL", _default_redis)
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if PRODUCTION and CELERY_BROKER_URL.startswith("filesystem://"):
    raise ImproperlyConfigured("Set REDIS_URL (or CELERY_BROKER_URL) in production")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Messages are hints (PostgreSQL holds the truth), so a modest visibility timeout is safe: a killed
    # worker's task comes back in minutes, not the default hour.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 900)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = envfloat("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fix-up closes every database connection before and after each task unless this is set; the
# worker keeps them as web requests do instead (config/celery.py: up to DB_CONN_MAX_AGE, closed when unusable).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_IMPORTS = ["connector.connection_tasks"]
CELERY_TASK_ROUTES = {"deliveries.tasks.delivery_*": {"queue": "deliveries"}}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-webhook-events": {"task": "pipeline.tasks.webhook_event_sweep", "schedule": 30.0},
    # Rewrite every linked issue's count field and property, repairing what a lost task left behind.
    "reconcile-link-counts": {"task": "linking.tasks.links_reconcile", "schedule": 6 * 3600.0},
    # Slow sweep: a batch of the links checked longest ago, to catch conversations deleted without a webhook.
    "sweep-link-health": {"task": "linking.tasks.link_health_sweep", "schedule": 900.0},
    # Jira writes of the linking app due for another attempt (or whose task was lost).
    "sweep-jira-writes": {"task": "linking.tasks.jira_write_sweep", "schedule": 30.0},
    "check-connections": {"task": "connector.connection_tasks.connections_health_check", "schedule": 900.0},
    # Retention (RETENTION_DAYS): empty old webhook payloads and note bodies, keep the rows and their outcomes.
    "purge-webhook-payloads": {"task": "pipeline.tasks.webhook_event_purge", "schedule": 3600.0},
    "purge-delivery-bodies": {"task": "deliveries.tasks.delivery_body_purge", "schedule": 3600.0},
    "purge-jira-write-texts": {"task": "linking.tasks.jira_write_purge", "schedule": 3600.0},
    "sweep-deliveries": {
        "task": "deliveries.tasks.delivery_sweep",
        "schedule": envfloat("DELIVERY_SWEEP_SECONDS", 5.0),
    },
}
# The publish that follows a commit is only a fast path; when the broker is down we give up quickly and
# let the sweeper enqueue later rather than hold a web request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}

REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "connector")
# Short-lived caches (Jira access decisions, conversation cards) shared by every process when Redis is there.
# Tests keep a per-process cache so one test's cached answers never leak into another run's.
CACHES = {
    "default": {"BACKEND": "connector.cache.RedisCache", "LOCATION": REDIS_URL,
                "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache"}
    if REDIS_URL and not TESTING
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# --- Deliveries to Intercom -------------------------------------------------------------------------------
# Calls in flight per workspace pump: Intercom's ceiling (~167/s) at ~0.2-0.4 s per call needs dozens.
DELIVERY_CONCURRENCY = envint("DELIVERY_CONCURRENCY", 64, minimum=1)
DELIVERY_MAX_ATTEMPTS = envint("DELIVERY_MAX_ATTEMPTS", 8, minimum=1)
# A delivery left in "sending" this long (worker killed mid-call) is checked against the conversation and resent.
DELIVERY_STALE_SENDING_SECONDS = envint("DELIVERY_STALE_SENDING_SECONDS", 60, minimum=1)
# A lower ceiling than Intercom's own, e.g. to leave room for other apps on the workspace (0 = none).
INTERCOM_RATE_LIMIT_CAP = envint("INTERCOM_RATE_LIMIT_CAP", 0)

# --- Connector behaviour ----------------------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = envint("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(WEBHOOK_MAX_BODY_BYTES, 2_621_440)
WEBHOOK_SWEEP_AFTER_SECONDS = envint("WEBHOOK_SWEEP_AFTER_SECONDS", 60, minimum=1)
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 5, minimum=1)
# Attempts at one Jira write of the linking app (remote link, count field, issue property) before giving up.
JIRA_WRITE_MAX_ATTEMPTS = envint("JIRA_WRITE_MAX_ATTEMPTS", 6, minimum=1)
# Days that webhook payloads and rendered note bodies are kept; then beat empties them (docs/data-retention.md).
RETENTION_DAYS = envint("RETENTION_DAYS", 30, minimum=1)
# Allow connection URLs on private/loopback addresses: for the simulators and on-premises Jira only.
ALLOW_PRIVATE_URLS = envbool("ALLOW_PRIVATE_URLS", TESTING)
VENDOR_TIMEOUT_SECONDS = envfloat("VENDOR_TIMEOUT_SECONDS", 10.0)
# The periodic check of linked conversations: at most this many links per run, each checked at most this often.
LINK_HEALTH_BATCH = envint("LINK_HEALTH_BATCH", 200, minimum=1)
LINK_HEALTH_MIN_AGE_HOURS = envint("LINK_HEALTH_MIN_AGE_HOURS", 24)
CONTRACTS_DIR = Path(os.environ.get("CONTRACTS_DIR", BASE_DIR.parent / "shared" / "contracts"))

# --- Security ---------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the CSRF token is read from the form, not JavaScript; Django's default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts and styles only from our own static files: an injected tag or on*= attribute cannot run. Images may
# come from https (the Jira app user's avatar); the preview's note HTML is sanitised by the server.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# /readyz names connections and their last errors only for this token (header X-Readyz-Token) or an operator.
READYZ_TOKEN = envsecret("READYZ_TOKEN")
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", True) else None
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes and scrapes inside the cluster
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)

REST_FRAMEWORK = {
    # A bearer token first: its 401 (with WWW-Authenticate) tells a script what is wrong, where the session's
    # 403 would not; browsers keep using the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The webhooks' JSON rules (nesting capped, no NaN), so a hostile body is a 400 and never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "connector.json_input.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Jira ↔ Intercom connector API",
    "DESCRIPTION": "Authenticate with a personal API token (`Authorization: Bearer <token>`, page “API tokens”); "
    "it acts with its owner's permissions.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema lists every endpoint and field: for signed-in users (or tokens) only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,  # write-only secrets appear in requests, never in responses
    "ENUM_NAME_OVERRIDES": {
        "ConnectionHealthEnum": "connector.models.Health",
        "LinkHealthEnum": "linking.models.ConversationLink.Health",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # httpx logs every request URL at INFO: too chatty for a service making hundreds of calls a second.
    "loggers": {name: {"level": "WARNING"} for name in ("django.db.backends", "httpx", "httpcore")},
}


# Each area below keeps its own settings in its own section (issues 12-16), so parallel work merges cleanly.

# --- Intercom Inbox app (issue 12) ---
# Intercom waits only seconds for a canvas; each Jira call made while it waits gives up after this long, so the
# teammate sees an error canvas with a retry instead of nothing.
INBOX_VENDOR_TIMEOUT_SECONDS = envfloat("INBOX_VENDOR_TIMEOUT_SECONDS", 4.0)
# A canvas request carries the conversation (its first message) and, on submit, the canvas shown: well below this.
INBOX_MAX_BODY_BYTES = envint("INBOX_MAX_BODY_BYTES", 512 * 1024, minimum=16 * 1024)

# --- Intercom tickets and the customer's voice (issue 12) ---
# Mirror the conversations and customer tickets linked to tracker tickets in Intercom (linking/tracker.py).
TRACKER_REFRESH_SECONDS = envint("TRACKER_REFRESH_SECONDS", 300, minimum=30)
CELERY_BEAT_SCHEDULE["refresh-tracker-tickets"] = {
    "task": "linking.tasks.trackers_refresh", "schedule": float(TRACKER_REFRESH_SECONDS),
}

# --- Forge panel and Sign in with Atlassian (issue 13) ---
# The Forge app's id (its manifest's app.id, "ari:cloud:ecosystem::app/<uuid>" or the bare uuid): the audience
# every Forge Invocation Token must carry. Empty: the panel's endpoints refuse every call.
FORGE_APP_ID = os.environ.get("FORGE_APP_ID", "").strip()
# Where Atlassian publishes the keys that sign Forge Invocation Tokens.
FORGE_JWKS_URL = os.environ.get("FORGE_JWKS_URL", "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json")
FORGE_JWKS_CACHE_SECONDS = envint("FORGE_JWKS_CACHE_SECONDS", 3600, minimum=1)
# A token naming a key we do not know makes us fetch the keys again, at most this often (a made-up kid must not
# make every request fetch them).
FORGE_JWKS_REFRESH_SECONDS = envint("FORGE_JWKS_REFRESH_SECONDS", 30)
# Whether a Jira user with no local account may read the panel (their own Jira permission still decides which
# issues); linking, unlinking and commenting always need a local account with those permissions.
FORGE_UNMAPPED_CAN_VIEW = envbool("FORGE_UNMAPPED_CAN_VIEW", True)
# Atlassian's authorization server and API gateway for Sign in with Atlassian on Jira Cloud (OAuth 2.0 3LO);
# the sandbox's own in tests and the demo. Data Center sites use their own /rest/oauth2/latest endpoints.
ATLASSIAN_AUTH_URL = os.environ.get("ATLASSIAN_AUTH_URL", "https://auth.atlassian.com").rstrip("/")
ATLASSIAN_API_URL = os.environ.get("ATLASSIAN_API_URL", "https://api.atlassian.com").rstrip("/")

# --- Snapshots, bulk linking and queues (issue 13) ---
# Share of each Intercom rate-limit window that reads (snapshot refreshes) leave to notes.
INTERCOM_READ_RESERVE = envfloat("INTERCOM_READ_RESERVE", 0.3)
# A linked conversation's snapshot is read again when older than this (webhooks keep most of them current).
SNAPSHOT_MAX_AGE_SECONDS = envint("SNAPSHOT_MAX_AGE_SECONDS", 6 * 3600)
SNAPSHOT_REFRESH_BATCH = envint("SNAPSHOT_REFRESH_BATCH", 200)
# Webhook processing and deliveries have their own queues, served by the main worker ahead of linking's Jira
# writes and snapshot refreshes, which the housekeeping worker serves (Procfile): housekeeping never delays notes.
CELERY_QUEUE_NAMES = ("webhooks", "deliveries", "default", "housekeeping")  # what the Procfile's workers consume
CELERY_TASK_ROUTES = {
    "pipeline.tasks.*": {"queue": "webhooks"},
    "notifications.tasks.*": {"queue": "webhooks"},  # "conversation linked" notes are planned like webhooks
    "deliveries.tasks.*": {"queue": "deliveries"},
    "linking.tasks.*": {"queue": "housekeeping"},
}
# Linking's Jira writes: paced per site by a limiter that learns Jira's X-RateLimit-* and Retry-After answers.
JIRA_RATE_LIMIT_DEFAULT = envint("JIRA_RATE_LIMIT_DEFAULT", 10, minimum=1)  # calls per second until Jira says
JIRA_RATE_LIMIT_CAP = envint("JIRA_RATE_LIMIT_CAP", 0)  # 0: whatever Jira says
JIRA_WRITE_CONCURRENCY = envint("JIRA_WRITE_CONCURRENCY", 8, minimum=1)
BULK_LINK_MAX = 1000
CELERY_BEAT_SCHEDULE["refresh-snapshots"] = {
    "task": "linking.tasks.snapshots_refresh",
    "schedule": envfloat("SNAPSHOT_REFRESH_SECONDS", 10.0),
}

# --- Operations: dashboard, alerts, audit (issue 14) ---
# Alerts by email use Django's mail settings; where they go, and the webhook, are set on the Alerts page.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "connector@localhost")
# How often beat checks what is wrong (connections, failed deliveries, silent sites, workers) and alerts.
ALERTS_CHECK_SECONDS = envint("ALERTS_CHECK_SECONDS", 60, minimum=10)
CELERY_BEAT_SCHEDULE["operations-alerts-check"] = {
    "task": "operations.tasks.alerts_check", "schedule": float(ALERTS_CHECK_SECONDS),
}

# --- Deployment, metrics and one beat (issue 15) ---
# Beat runs the periodic tasks only while it holds this lease in Redis (config/beat.py): a second beat (a
# standby, or two replicas during a deploy) sends nothing, and takes over within this time if the holder dies.
BEAT_LEASE_SECONDS = envint("BEAT_LEASE_SECONDS", 30, minimum=3)
# /metrics (Prometheus) answers only requests with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = envsecret("METRICS_TOKEN")

# --- High availability: PgBouncer, Sentinel, RabbitMQ (issue 15) ---
# The intake listener LISTENs and holds a session advisory lock, which PgBouncer's transaction mode cannot
# carry: it connects straight to PostgreSQL with this URL (default: DATABASE_URL). docs/high-availability.md
LISTENER_DATABASE_URL = os.environ.get("LISTENER_DATABASE_URL", "").strip()
LISTENER_DATABASE = dj_database_url.parse(LISTENER_DATABASE_URL) if LISTENER_DATABASE_URL else None
# Behind PgBouncer in transaction mode (pool_mode = transaction) a connection may change server session at
# every transaction: no server-side cursors (they live in the session); the rest of the service keeps no
# session state (advisory locks are per transaction, no statement is prepared by name).
DB_TRANSACTION_POOLING = envbool("DB_TRANSACTION_POOLING", False)
if DB_TRANSACTION_POOLING:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The ORM's cursors bind on the client and never prepare; intake's insert is bound on the server and, with
    # this, prepared after a few runs on a connection (psycopg's default, which Django turns off for poolers).
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
# A row left "sending" is released for a verified resend after DELIVERY_STALE_SENDING_SECONDS; a call can still be
# in flight until VENDOR_TIMEOUT_SECONDS, so a shorter wait would let a live call and its resend both land.
if DELIVERY_STALE_SENDING_SECONDS <= VENDOR_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("DELIVERY_STALE_SENDING_SECONDS must be longer than VENDOR_TIMEOUT_SECONDS")
# Redis Sentinel: kombu wants `sentinel://h1:p1/db;sentinel://h2:p2/db` plus the primary's name.
if CELERY_BROKER_URL.startswith("sentinel://"):
    CELERY_BROKER_URL, _sentinel_options = celery_broker(CELERY_BROKER_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(_sentinel_options)
# RabbitMQ: every queue a quorum queue (replicated, survives a node). Celery then turns off global QoS by
# itself; quorum queues need publisher confirms and have no priorities (none are used here).
if CELERY_BROKER_URL.startswith(("amqp://", "amqps://", "pyamqp://")):
    from kombu import Queue

    CELERY_TASK_QUEUES = [
        Queue(name, routing_key=name, queue_arguments={"x-queue-type": "quorum"})
        for name in CELERY_QUEUE_NAMES
    ]
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}

# --- Delivery path CPU and benchmarks (issue 16) ---
# A file path: the worker writes a CPU profile of all its threads there when it shuts down (config/profiling.py).
WORKER_PROFILE = os.environ.get("WORKER_PROFILE", "")
WORKER_PROFILE_CLOCK = "wall" if os.environ.get("WORKER_PROFILE_CLOCK") == "wall" else "cpu"
