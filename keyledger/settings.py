"""Keyledger's one settings module. Every value that differs between machines
comes from an environment variable; see README.md, "Configuration"."""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from keyledger.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("KEYLEDGER_DATA_DIR") or BASE_DIR.parent / "var")

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for a development machine."
        )
    # Development only: never used when DEBUG is off.
    SECRET_KEY = "keyledger-development-only-not-secret-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS and not DEBUG:
    # Without it Django answers every request with 400; say so at start-up instead.
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is not set. Set it to the host names of the portal, comma-separated "
        "(e.g. ALLOWED_HOSTS=keyledger.example.com), or set DEBUG=1 for a development machine."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# The address people use to reach the portal; links in emails are built from it.
SITE_URL = (env_str("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # django-ninja's own Swagger UI files, so /api/v1/docs works under the strict CSP.
    "ninja",
    "keyledger.organisations",
    "keyledger.audit",
    "keyledger.customers",
    "keyledger.keys",
    "keyledger.billing",
    "keyledger.reports",
    "keyledger.api",
    "keyledger.portal",
    "keyledger.security",
    # Two-factor authentication: django-otp's TOTP devices and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "keyledger.twofactor",
    "keyledger.ops",
]

MIDDLEWARE = [
    # First: health probes and /metrics skip the rest; every other request is logged and timed.
    "keyledger.ops.middleware.OpsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "keyledger.security.middleware.SignInSessionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "keyledger.portal.middleware.PortalAccessMiddleware",
    "keyledger.portal.middleware.UserTimeZoneMiddleware",
    "keyledger.twofactor.middleware.TwoFactorMiddleware",
]

ROOT_URLCONF = "keyledger.urls"
WSGI_APPLICATION = "keyledger.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "keyledger.portal.context.portal",
                "keyledger.twofactor.context.two_factor_notice",
            ],
        },
    },
]


# WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock at
# BEGIN so two writers queue (up to the timeout) instead of failing mid-transaction.
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def _database() -> dict:
    url = env_str("DATABASE_URL")
    if url:
        try:
            config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
        except ValueError as exc:
            raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config["OPTIONS"] = {**_SQLITE_OPTIONS, **config.get("OPTIONS", {})}
        elif "postgresql" in config["ENGINE"]:
            # PostgreSQL's JIT compiles the billing engine's large CASE expressions for longer
            # than they take to run (measured: ~0.1 s of a 0.13 s report page, ~0.5 s of a
            # month close), and Keyledger's other queries are too small to gain from it.
            # ISO dates: the report CSV files read times as the server's own text.
            options = config.setdefault("OPTIONS", {})
            options["options"] = f"{options.get('options', '')} -c jit=off -c DateStyle=ISO".strip()
            # A pool per process (psycopg_pool), shared by its threads: the process never holds
            # more than this many connections. `keyledger serve` sets it from its options.
            pool_size = env_int("DATABASE_POOL_SIZE", 0, minimum=0)
            if pool_size:
                timeout = env_int("DATABASE_POOL_TIMEOUT", 10, minimum=1)
                options["pool"] = {"min_size": 1, "max_size": pool_size, "timeout": timeout}
                config["CONN_MAX_AGE"] = 0  # the pool keeps the connections instead
        config["CONN_HEALTH_CHECKS"] = True
        return config
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "keyledger.sqlite3",
        "OPTIONS": dict(_SQLITE_OPTIONS),
        # Kept open like a DATABASE_URL connection: opening the file and running the
        # init_command PRAGMAs on every request halved the call-home throughput (measured).
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "organisations.User"
AUTHENTICATION_BACKENDS = ["keyledger.organisations.auth.EmailBackend"]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

_redis_url = env_str("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "keyledger"}
    )
}
# Several Keyledger installations (or test runs) may share one Redis: each keeps its own keys.
CACHES["default"]["KEY_PREFIX"] = env_str("CACHE_KEY_PREFIX") or ""

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

_billing_tz = env_str("KEYLEDGER_BILLING_TIME_ZONE") or "UTC"
try:
    ZoneInfo(_billing_tz)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"KEYLEDGER_BILLING_TIME_ZONE is not a time zone: {_billing_tz!r}") from None
KEYLEDGER_BILLING_TIME_ZONE = _billing_tz

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production serves hashed files from `keyledger collectstatic`; development and tests serve the sources.
_static_manifest = env_bool("KEYLEDGER_STATIC_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if _static_manifest
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not _static_manifest
WHITENOISE_AUTOREFRESH = DEBUG

# Email: the console by default; SMTP when EMAIL_HOST is set.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Keyledger <noreply@keyledger.invalid>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email_host = env_str("EMAIL_HOST") or ""
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env_int("EMAIL_PORT", 587, minimum=1),
                "username": env_str("EMAIL_HOST_USER") or None,
                "password": env_str("EMAIL_HOST_PASSWORD") or None,
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": env_int("EMAIL_TIMEOUT", 30, minimum=1),
            },
        }
    }
else:
    MAILERS = {
        "default": {"BACKEND": env_str("EMAIL_BACKEND") or "django.core.mail.backends.console.EmailBackend"}
    }

# Security. Everything below is on unless DEBUG says this is a development machine.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# Keyledger's own rules.
KEYLEDGER_INVITATION_DAYS = env_int("KEYLEDGER_INVITATION_DAYS", 7, minimum=1)
KEYLEDGER_CRITICAL_HOURS = env_int("KEYLEDGER_CRITICAL_HOURS", 72, minimum=1)
KEYLEDGER_OFFLINE_LEASE_DAYS = env_int("KEYLEDGER_OFFLINE_LEASE_DAYS", 30, minimum=1)
KEYLEDGER_CALL_HOME_INTERVAL_SECONDS = env_int("KEYLEDGER_CALL_HOME_INTERVAL_SECONDS", 86400, minimum=60)
KEYLEDGER_SIGNING_KEY = env_str("KEYLEDGER_SIGNING_KEY") or ""
KEYLEDGER_SIGNING_KEY_FILE = Path(env_str("KEYLEDGER_SIGNING_KEY_FILE") or DATA_DIR / "signing-key.pem")
KEYLEDGER_RATE_LIMIT_PER_KEY = env_int("KEYLEDGER_RATE_LIMIT_PER_KEY", 30, minimum=1)  # per minute
KEYLEDGER_RATE_LIMIT_PER_IP = env_int("KEYLEDGER_RATE_LIMIT_PER_IP", 600, minimum=1)  # per minute
# Billing (SPEC §8): a key is billable in a month when it was active on more than this many days.
KEYLEDGER_BILLABLE_AFTER_DAYS = env_int("KEYLEDGER_BILLABLE_AFTER_DAYS", 14, minimum=0)
# Days after a month ends before its draft statements become final on their own.
KEYLEDGER_STATEMENT_GRACE_DAYS = env_int("KEYLEDGER_STATEMENT_GRACE_DAYS", 3, minimum=0)

# Sign-in security (keyledger/security; README, "Sign-in security").
# After this many wrong passwords for one email within the window, that email is locked:
# 1 minute, then twice as long at each further failure, up to the cap.
KEYLEDGER_SIGN_IN_MAX_FAILURES = env_int("KEYLEDGER_SIGN_IN_MAX_FAILURES", 5, minimum=1)
KEYLEDGER_SIGN_IN_WINDOW_MINUTES = env_int("KEYLEDGER_SIGN_IN_WINDOW_MINUTES", 15, minimum=1)
KEYLEDGER_SIGN_IN_LOCK_MINUTES = env_int("KEYLEDGER_SIGN_IN_LOCK_MINUTES", 1, minimum=1)
KEYLEDGER_SIGN_IN_MAX_LOCK_MINUTES = env_int("KEYLEDGER_SIGN_IN_MAX_LOCK_MINUTES", 60, minimum=1)
# One address failing this often within the window is refused for the window's length.
KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP = env_int("KEYLEDGER_SIGN_IN_MAX_FAILURES_PER_IP", 50, minimum=1)
# Password reset requests per email and per address, each per hour.
KEYLEDGER_PASSWORD_RESETS_PER_EMAIL = env_int("KEYLEDGER_PASSWORD_RESETS_PER_EMAIL", 3, minimum=1)
KEYLEDGER_PASSWORD_RESETS_PER_IP = env_int("KEYLEDGER_PASSWORD_RESETS_PER_IP", 20, minimum=1)
# A reset link works once, for this long.
PASSWORD_RESET_TIMEOUT = env_int("KEYLEDGER_PASSWORD_RESET_MINUTES", 60, minimum=5) * 60
# A session ends after this long without a request, and this long after sign-in whatever happens.
KEYLEDGER_SESSION_IDLE_HOURS = env_int("KEYLEDGER_SESSION_IDLE_HOURS", 12, minimum=1)
KEYLEDGER_SESSION_MAX_DAYS = env_int("KEYLEDGER_SESSION_MAX_DAYS", 14, minimum=1)
# Django's own session expiry comes a day later, so that Keyledger's ends the session and says why.
SESSION_COOKIE_AGE = (KEYLEDGER_SESSION_MAX_DAYS + 1) * 86400
# Sessions are kept with their user, address and browser: the profile lists them.
SESSION_ENGINE = "keyledger.security.session_store"

# Operations (keyledger/ops): /metrics answers only with `Authorization: Bearer <this token>`
# (unset: /metrics is not served); one JSON line a request on standard output (not by
# default in development, where runserver prints its own line a request).
KEYLEDGER_METRICS_TOKEN = env_str("KEYLEDGER_METRICS_TOKEN") or ""
KEYLEDGER_REQUEST_LOG = env_bool("KEYLEDGER_REQUEST_LOG", not DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "keyledger.ops.logs.JsonFormatter"}},
    "filters": {"withhold_paths": {"()": "keyledger.ops.logs.WithholdPaths"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "json_stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
    "loggers": {
        "django.server": {"level": "WARNING" if not DEBUG else "INFO"},
        "keyledger.request": {"handlers": ["json_stdout"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["withhold_paths"]},
    },
}
