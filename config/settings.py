"""Settings, read from the environment (django-environ). Wiring only: no logic here."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def required(name: str, *, cast=str):
    """Read a required variable; stop start-up with a message naming it when it is missing."""
    try:
        return env.get_value(name, cast=cast)
    except ImproperlyConfigured:
        raise ImproperlyConfigured(
            f"The environment variable {name} is required but not set. "
            f"Set {name} (or DEBUG=true for local development)."
        ) from None


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = (
    env.str("SECRET_KEY", default="dev-insecure-secret-key") if DEBUG else required("SECRET_KEY")
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if DEBUG else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "axes",
    "orgs",
    "prospects",
    "dids",
    "messaging",
    "campaigns",
    "campaigns.voice",  # the voice engine (registers its inbox handler and tasks)
    "campaigns.sms",  # the SMS engine (registers its start and delivery-report handlers)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The admin's static files, collected into STATIC_ROOT (`collectstatic`), from the web tier.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: answers a locked-out login attempt (django-axes).
    "axes.middleware.AxesMiddleware",
]

# The admin's login throttles guessing (django-axes): after ADMIN_LOGIN_FAILURE_LIMIT wrong
# passwords for one username from one address, that pair is refused (429) for
# ADMIN_LOGIN_COOLOFF_MINUTES, the right password included. API keys are not passwords and
# are not counted here.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

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

# The demo's embedded default is a SQLite file; tests, benchmarks and production use PostgreSQL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'demo.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
# A kept connection is checked before a request (or task) reuses it, and replaced when it died
# meanwhile (a PostgreSQL restart, a failover): the request succeeds instead of a 500.
DATABASES["default"].setdefault(
    "CONN_HEALTH_CHECKS", env.bool("DB_CONN_HEALTH_CHECKS", default=True)
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's web server, worker, beat and display share the file: in WAL mode readers never
    # wait for the writer, and writers queue for up to `timeout` seconds instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "outbound",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

# --- Carrier -------------------------------------------------------------------------------
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="AC" + "0" * 32)
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")  # empty: the real Twilio
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
TWILIO_HTTP_TIMEOUT = env.float("TWILIO_HTTP_TIMEOUT", default=10.0)
# How a webhook's signed URL is rebuilt: "public" = PUBLIC_BASE_URL + the request path and
# query (what we gave the carrier); "request" = the request's own absolute URI (set
# USE_X_FORWARDED_HOST / SECURE_PROXY_SSL_HEADER behind a proxy).
WEBHOOK_URL_MODE = env.str("WEBHOOK_URL_MODE", default="public")
# An event for a call or message the platform has no row for (yet) waits this long for the
# row before it is counted as unknown: a carrier can call back before the create's answer.
INBOX_UNKNOWN_SID_GRACE_SECONDS = env.int("INBOX_UNKNOWN_SID_GRACE_SECONDS", default=30)
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Dialer --------------------------------------------------------------------------------
DIALER_GLOBAL_CONCURRENCY = env.int("DIALER_GLOBAL_CONCURRENCY", default=50)
DIALER_CHANNEL_POOLS = {
    "campaign": env.int("DIALER_POOL_CAMPAIGN", default=60),
    "ivr": env.int("DIALER_POOL_IVR", default=15),
    "api": env.int("DIALER_POOL_API", default=8),
}
# Events kept per campaign and per org stream in Redis (approximate trim).
EVENTS_STREAM_MAXLEN = env.int("EVENTS_STREAM_MAXLEN", default=10_000)
# A prospect claimed this long ago with no call attempt written is released by the sweep.
PROSPECT_LOCK_TIMEOUT_SECONDS = env.int("PROSPECT_LOCK_TIMEOUT_SECONDS", default=5 * 60)
# A call with no final status this long after it was placed ends as `timeout`.
DIALER_CALL_TIMEOUT_SECONDS = env.int("DIALER_CALL_TIMEOUT_SECONDS", default=30 * 60)
# How long settling waits for an answer still on its way: an answering-machine verdict that
# trails the call's completion, or the carrier's answer to a voicemail drop (plus
# TWILIO_HTTP_TIMEOUT). A machine verdict later than that corrects the outcome.
DIALER_AMD_GRACE_SECONDS = env.int("DIALER_AMD_GRACE_SECONDS", default=10)
# An attempt left `originating` (no sid) this long is reconciled with the carrier.
DIALER_RECONCILE_AFTER_SECONDS = env.int("DIALER_RECONCILE_AFTER_SECONDS", default=120)
# Attempts one task places (concurrently); a tick spreads a campaign's calls over the second.
DIALER_ATTEMPTS_PER_TASK = env.int("DIALER_ATTEMPTS_PER_TASK", default=50)
DIALER_MIN_DID_HEALTH = env.float("DIALER_MIN_DID_HEALTH", default=0.7)

# --- SMS campaigns (campaigns.sms_*) --------------------------------------------------------
# Executor lanes per sending campaign, and messages per lane batch.
SMS_LANES = env.int("SMS_LANES", default=4)
SMS_BATCH = env.int("SMS_BATCH", default=500)
# A message still unsent this long after its send_at is dead-lettered as STALE.
SMS_STALE_SECONDS = env.int("SMS_STALE_SECONDS", default=30 * 60)
# Waiting for the pool's or a sender's rate longer than this: RATE_LIMIT_TIMEOUT.
SMS_RATE_LIMIT_MAX_WAIT_SECONDS = env.int("SMS_RATE_LIMIT_MAX_WAIT_SECONDS", default=3600)
# Without credit a message waits SMS_BILLING_RETRY_SECONDS at a time, BILLING after the max.
SMS_BILLING_RETRY_SECONDS = env.int("SMS_BILLING_RETRY_SECONDS", default=5 * 60)
SMS_BILLING_MAX_WAIT_SECONDS = env.int("SMS_BILLING_MAX_WAIT_SECONDS", default=60 * 60)
# Transient carrier errors are tried this many times in all, then PROVIDER_ERROR.
SMS_PROVIDER_MAX_TRIES = env.int("SMS_PROVIDER_MAX_TRIES", default=4)
# A claim older than this goes back to other workers (reconciled first if it was being sent).
SMS_CLAIM_TIMEOUT_SECONDS = env.int("SMS_CLAIM_TIMEOUT_SECONDS", default=10 * 60)
# A text the carrier took with no final report for this long is looked up at the carrier (the
# carrier does not retry a report our web tier missed); asked again this long later if open.
SMS_REPORT_TIMEOUT_SECONDS = env.int("SMS_REPORT_TIMEOUT_SECONDS", default=15 * 60)
# Drip: a caller ID texts at most once this often; a drip texts every gap / its caller IDs.
SMS_DRIP_GAP_SECONDS = env.int("SMS_DRIP_GAP_SECONDS", default=15 * 60)

# --- Caller-ID health (dids.health) ----------------------------------------------------------
# The score: each component's weight, over a caller ID's last DID_HEALTH_WINDOW calls.
DID_HEALTH_WINDOW = env.int("DID_HEALTH_WINDOW", default=50)
DID_HEALTH_WEIGHTS = {
    "answer_rate": env.float("DID_HEALTH_WEIGHT_ANSWER", default=0.30),
    "duration": env.float("DID_HEALTH_WEIGHT_DURATION", default=0.25),
    "engagement": env.float("DID_HEALTH_WEIGHT_ENGAGEMENT", default=0.20),
    "no_answer_trend": env.float("DID_HEALTH_WEIGHT_NO_ANSWER", default=0.15),
    "spam_clean": env.float("DID_HEALTH_WEIGHT_SPAM", default=0.10),
}
DID_HEALTH_FULL_DURATION_SECONDS = env.int("DID_HEALTH_FULL_DURATION_SECONDS", default=60)
# Thresholds: below WARNING a warning, below COOLDOWN out of rotation for
# DID_COOLDOWN_SECONDS, below BURN out for good.
DID_HEALTH_WARNING = env.float("DID_HEALTH_WARNING", default=0.8)
DID_HEALTH_COOLDOWN = env.float("DID_HEALTH_COOLDOWN", default=0.7)
DID_HEALTH_BURN = env.float("DID_HEALTH_BURN", default=0.5)
DID_COOLDOWN_SECONDS = env.int("DID_COOLDOWN_SECONDS", default=2 * 3600)
# A short record is topped up with this many clean calls (fewer as the window fills), so a
# new caller ID is not condemned by its first unanswered call.
DID_HEALTH_PRIOR_CALLS = env.int("DID_HEALTH_PRIOR_CALLS", default=10)
# Back from a cooldown a caller ID is judged on its calls since, with no clean calls added,
# once it has made this many.
DID_HEALTH_PROBATION_CALLS = env.int("DID_HEALTH_PROBATION_CALLS", default=10)
# Back in rotation (from cooldown or warming), its share of the selections it would get
# grows from DID_RAMP_MIN_SHARE to all of them over its next DID_RAMP_CALLS calls.
DID_RAMP_CALLS = env.int("DID_RAMP_CALLS", default=20)
DID_RAMP_MIN_SHARE = env.float("DID_RAMP_MIN_SHARE", default=0.1)
# Calls a caller ID may make per UTC day (0: no cap); among equally healthy caller IDs
# (health within DID_HEALTH_TIE_BAND) the least used today goes first.
DID_DAILY_CALL_CAP = env.int("DID_DAILY_CALL_CAP", default=500)
DID_HEALTH_TIE_BAND = env.float("DID_HEALTH_TIE_BAND", default=0.05)

# --- Alerts (orgs.alerts) and the SMS error-rate guard (campaigns.sms.guard) ---------------
# An alert POST waits this long to connect, and for each read of the answer.
ALERT_TIMEOUT_SECONDS = env.float("ALERT_TIMEOUT_SECONDS", default=5.0)
# Attempts before an alert is given up (failed); between them an exponential backoff from
# ALERT_RETRY_BASE_SECONDS, capped at ALERT_RETRY_CAP_SECONDS, with full jitter.
ALERT_MAX_ATTEMPTS = env.int("ALERT_MAX_ATTEMPTS", default=8)
ALERT_RETRY_BASE_SECONDS = env.float("ALERT_RETRY_BASE_SECONDS", default=10.0)
ALERT_RETRY_CAP_SECONDS = env.float("ALERT_RETRY_CAP_SECONDS", default=3600.0)
# At most one billing.stopped alert per organization in this many seconds.
ALERT_BILLING_DEDUPE_SECONDS = env.int("ALERT_BILLING_DEDUPE_SECONDS", default=3600)
# A dialing SMS campaign pauses (error_rate) when more than THRESHOLD of its last WINDOW sends
# failed, once at least MIN_SENDS are in the window.
SMS_ERROR_RATE_WINDOW = env.int("SMS_ERROR_RATE_WINDOW", default=200)
SMS_ERROR_RATE_MIN_SENDS = env.int("SMS_ERROR_RATE_MIN_SENDS", default=50)
SMS_ERROR_RATE_THRESHOLD = env.float("SMS_ERROR_RATE_THRESHOLD", default=0.2)

# --- Import --------------------------------------------------------------------------------
IMPORT_MAX_ERRORS_LISTED = 1000

# --- API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["orgs.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["orgs.permissions.HasApiKeyScopes"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "orgs.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "orgs.api.pagination.DefaultPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_THROTTLE_RATE", default="6000/min"),
        "org": env.str("API_ORG_THROTTLE_RATE", default="20000/min"),
    },
    "EXCEPTION_HANDLER": "orgs.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Outbound platform API",
    "DESCRIPTION": "Campaigns, prospects, caller IDs, suppression and one-off calls for "
    "outbound voice and SMS.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "CallStatusEnum": "campaigns.models.CallAttempt.Status",
    },
}

# --- Celery --------------------------------------------------------------------------------
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The SDK logs every request's headers at INFO.
    "loggers": {"twilio.http_client": {"level": "WARNING"}},
}
