"""Settings, read from the environment.

With nothing set, this is the embedded default: a SQLite file under ``var/``,
Celery tasks executed in process, email to the console, the test payment
gateway. Every variable is listed in the README ("Configuration").
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ

from integration.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))


def _local_secret(name: str) -> str:
    """A random secret made once per checkout and kept in ``var/`` (never in the repo).

    Only the embedded default uses it; production sets the variable.
    """
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / f".{name.lower()}"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Deployment shape -------------------------------------------------------
SERVICE_ROLE = env.str("SERVICE_ROLE", default="monolith")
if SERVICE_ROLE not in {"monolith", "commerce", "lms"}:
    raise environ.ImproperlyConfigured("SERVICE_ROLE must be monolith, commerce or lms")
SERVES_COMMERCE = SERVICE_ROLE in {"monolith", "commerce"}
SERVES_LMS = SERVICE_ROLE in {"monolith", "lms"}
COMMERCE_BASE_URL = env.str("COMMERCE_BASE_URL", default="http://127.0.0.1:8000")
LMS_BASE_URL = env.str("LMS_BASE_URL", default="http://127.0.0.1:8000")
# Sends every port call and message over HTTP even to a side served here (tests of the split wire path).
INTEGRATION_FORCE_HTTP = env.bool("INTEGRATION_FORCE_HTTP", default=False)
# The Commerce account the platform's share of every sale is booked to (made by seed_demo or on first use).
PLATFORM_PAYEE_EMAIL = env.str("PLATFORM_PAYEE_EMAIL", default="platform@example.com")

COMMERCE_APPS = ["identity", "catalog", "orders", "payouts"]
LMS_APPS = ["learning", "revenue"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_celery_beat",
    "django_prometheus",
    "django_structlog",
    "django_filters",
    "django_htmx",
    "django_countries",
    "treebeard",
    "integration",
]
if SERVES_COMMERCE:
    # identity ahead of django.contrib.auth: its `changepassword` command (through the password
    # service, which revokes the user's tokens) is the one `manage.py changepassword` runs.
    INSTALLED_APPS.insert(INSTALLED_APPS.index("django.contrib.auth"), "identity")
    INSTALLED_APPS += [
        "django.contrib.sites",
        "allauth",
        "allauth.account",
        "allauth.socialaccount",
        "allauth.mfa",
        "rest_framework.authtoken",
        "rest_framework_simplejwt.token_blacklist",
        "dj_rest_auth",
        "dj_rest_auth.registration",
        *(app for app in COMMERCE_APPS if app != "identity"),
    ]
if SERVES_LMS:
    INSTALLED_APPS += LMS_APPS

MIDDLEWARE = [
    # /healthz first: a liveness probe runs no other middleware.
    "integration.middleware.HealthzMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "integration.middleware.RequestIdMiddleware",
    "integration.middleware.SecurityHeadersMiddleware",
    "integration.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integration.middleware.ApiErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
if SERVES_COMMERCE:
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware"),
                      "allauth.account.middleware.AccountMiddleware")
if SERVES_LMS:
    # request.lms_user: the LMS session, kept apart from Django's auth login (learning/sessions.py).
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "learning.middleware.LmsSessionMiddleware")

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
                "integration.context_processors.site",
                *(["payouts.context_processors.payouts_nav"] if SERVES_COMMERCE else []),
            ],
        },
    },
]

# --- Database and cache -----------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A new connection per request costs ~6x throughput here (see SERVICES.md).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Concurrent requests on the embedded default wait their turn instead of answering 500 "database is
    # locked": transactions take the write lock when they begin (no deadlocking read-to-write upgrade),
    # a busy writer is waited for up to 20 s, and the WAL journal lets readers run beside the writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    })
USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
# A Redis outage makes the caches miss (integration/cache.py): never a 500, never a long wait.
CACHE_SOCKET_TIMEOUT_SECONDS = env.float("CACHE_SOCKET_TIMEOUT_SECONDS", default=0.25)
CACHE_OUTAGE_RETRY_SECONDS = env.float("CACHE_OUTAGE_RETRY_SECONDS", default=5.0)
# Security state (token revocations, users' public identities, service-client state) has its own
# alias, so page and token-validation entries can never evict it; the database stays its source of
# truth (identity/caching.py). Production Redis: maxmemory-policy volatile-lru or noeviction (README).
SECURITY_CACHE_URL = env.str("SECURITY_CACHE_URL", default="") or REDIS_URL
_CACHE_OPTIONS = {"socket_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
                  "socket_connect_timeout": CACHE_SOCKET_TIMEOUT_SECONDS}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "integration.cache.TolerantRedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cl"), "OPTIONS": _CACHE_OPTIONS}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if SECURITY_CACHE_URL:
    CACHES["security"] = {"BACKEND": "integration.cache.TolerantRedisCache", "LOCATION": SECURITY_CACHE_URL,
                          "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="cl") + "-sec",
                          "TIMEOUT": None, "OPTIONS": _CACHE_OPTIONS}
else:
    CACHES["security"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "security",
                          "TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 100_000}}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# CELERY_BROKER_KEY_PREFIX: two deployments on one Redis database keep apart queues (kombu's global_keyprefix).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600,
                                   "global_keyprefix": env.str("CELERY_BROKER_KEY_PREFIX", default="")}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_IMPORTS = ["integration.mail"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "integration.tasks.outbox_sweep", "schedule": 15.0},
    "inbox-purge": {"task": "integration.tasks.inbox_purge", "schedule": 3600.0},
    "outbox-purge": {"task": "integration.tasks.outbox_purge", "schedule": 3600.0},
}
if SERVES_LMS:
    # Enrollment expiry and the reminder a week before (learning/tasks.py).
    CELERY_BEAT_SCHEDULE["lms-enrollments-expire"] = {"task": "learning.tasks.enrollments_expire", "schedule": 3600.0}
    # Held revenue shares of ended enrollments, forfeited once the grace period is over (revenue/tasks.py).
    CELERY_BEAT_SCHEDULE["revenue-holds-settle"] = {"task": "revenue.tasks.holds_settle_due", "schedule": 3600.0}
# The catalog's pull of the LMS export (spec 5.2's backup to the catalog.sync pushes).
CATALOG_RECONCILE_SECONDS = env.int("CATALOG_RECONCILE_SECONDS", default=3600)
if SERVES_COMMERCE:
    CELERY_BEAT_SCHEDULE["catalog-reconcile"] = {"task": "catalog.tasks.catalog_reconcile",
                                                 "schedule": float(CATALOG_RECONCILE_SECONDS)}
    # Payouts: pending amounts become available when their date comes; payees are paid on their payout day.
    CELERY_BEAT_SCHEDULE["payouts-clear-pending"] = {"task": "payouts.tasks.clear_pending", "schedule": 900.0}
    CELERY_BEAT_SCHEDULE["payouts-run"] = {"task": "payouts.tasks.run_payouts", "schedule": 3600.0}
    # Orders: grants the LMS has not answered after ENTITLEMENT_RESEND_AFTER_MINUTES are pushed again.
    CELERY_BEAT_SCHEDULE["orders-reconcile-entitlements"] = {"task": "orders.reconcile_entitlements",
                                                             "schedule": 300.0}
# A broker restart must not kill the worker: reconnect for ever, at start-up as well as later.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None

# --- Auth -------------------------------------------------------------------
if SERVES_COMMERCE:
    AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if SERVES_COMMERCE:
    # One password backend (allauth's: email login, one hasher run per attempt, known or not),
    # plus the commerce-admin role's admin permissions.
    AUTHENTICATION_BACKENDS = [
        "allauth.account.auth_backends.AuthenticationBackend",
        "identity.backends.CommerceAdminPermissionBackend",
    ]
# Argon2id first (cost tuned to stay under 100 ms a hash here: bench/bench_identity.py);
# older hashes verify and are re-hashed with it on the next successful login.
ARGON2_TIME_COST = env.int("ARGON2_TIME_COST", default=2)
ARGON2_MEMORY_KIB = env.int("ARGON2_MEMORY_KIB", default=32768)
ARGON2_PARALLELISM = env.int("ARGON2_PARALLELISM", default=2)
PASSWORD_HASHERS = [
    "identity.hashers.Argon2idPasswordHasher" if SERVES_COMMERCE
    else "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    # Legacy LMS accounts arrive as raw bcrypt ($2a$/$2b$/$2y$), stored as "bcrypt$<hash>"; upgraded on login.
    "identity.hashers.LegacyBCryptPasswordHasher" if SERVES_COMMERCE
    else "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

SITE_ID = 1
SITE_NAME = env.str("SITE_NAME", default="Cadence Learning")
ACCOUNT_ADAPTER = "identity.adapter.AccountAdapter"
# Sign-up answers the same whether or not the email is taken (identity.services.registration).
ACCOUNT_FORMS = {"signup": "identity.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
if ACCOUNT_EMAIL_VERIFICATION not in {"optional", "mandatory", "none"}:
    raise environ.ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be optional, mandatory or none")
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Security notices (password, email, MFA changed) by email, in HTML and text.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Password failures are throttled by identity.services.login (integration.throttle; pages and API alike);
# allauth's own "login_failed" limit is left to guard the MFA code step of the pages.
ACCOUNT_RATE_LIMITS = {"login_failed": "20/5m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# MFA secrets are stored encrypted (identity/mfa_crypto.py): comma-separated keys, the first encrypts.
MFA_ADAPTER = "identity.adapter.MfaAdapter"
MFA_ENCRYPTION_KEY = env.str("MFA_ENCRYPTION_KEY", default="") or _local_secret("MFA_ENCRYPTION_KEY")
MFA_TOTP_ISSUER = SITE_NAME
SOCIALACCOUNT_PROVIDERS = {}

# Login throttling, per account (the email typed, known or not) and per client address:
# after N failures each further failure locks for base * 2^(failures - N) seconds, up to the cap.
IDENTITY_LOGIN_FAILURES_PER_ACCOUNT = env.int("IDENTITY_LOGIN_FAILURES_PER_ACCOUNT", default=5)
IDENTITY_LOGIN_FAILURES_PER_ADDRESS = env.int("IDENTITY_LOGIN_FAILURES_PER_ADDRESS", default=20)
IDENTITY_LOGIN_LOCKOUT_BASE_SECONDS = env.int("IDENTITY_LOGIN_LOCKOUT_BASE_SECONDS", default=30)
IDENTITY_LOGIN_LOCKOUT_MAX_SECONDS = env.int("IDENTITY_LOGIN_LOCKOUT_MAX_SECONDS", default=900)
IDENTITY_LOGIN_FAILURE_WINDOW_SECONDS = env.int("IDENTITY_LOGIN_FAILURE_WINDOW_SECONDS", default=3600)
# Device cookies (identity.services.login): a browser that completed a sign-in presents a signed cookie
# naming the account; its attempts at that account count on the device (this many, then the same lockout)
# instead of the account and the address, so a locked address or account does not shut its owner out.
IDENTITY_LOGIN_FAILURES_PER_DEVICE = env.int("IDENTITY_LOGIN_FAILURES_PER_DEVICE", default=5)
IDENTITY_DEVICE_COOKIE_SECONDS = env.int("IDENTITY_DEVICE_COOKIE_SECONDS", default=365 * 24 * 3600)
IDENTITY_MFA_TOKEN_SECONDS = env.int("IDENTITY_MFA_TOKEN_SECONDS", default=300)
# The LMS legacy login's failed-attempt limit (learning/services/legacy.py), per account and window.
LEGACY_LOGIN_MAX_FAILURES = env.int("LEGACY_LOGIN_MAX_FAILURES", default=5)
LEGACY_LOGIN_WINDOW_SECONDS = env.int("LEGACY_LOGIN_WINDOW_SECONDS", default=300)

JWT_ACCESS_TTL_SECONDS = env.int("JWT_ACCESS_TTL_SECONDS", default=3600)
JWT_REFRESH_TTL_SECONDS = env.int("JWT_REFRESH_TTL_SECONDS", default=1209600)
# No refresh token outlives its family's first login by more than this, however often it rotates.
JWT_REFRESH_ABSOLUTE_SECONDS = env.int("JWT_REFRESH_ABSOLUTE_SECONDS", default=30 * 24 * 3600)
TOKEN_VALIDATION_CACHE_SECONDS = env.int("TOKEN_VALIDATION_CACHE_SECONDS", default=60)
# An LMS session opened by SSO is re-checked with the store each TOKEN_VALIDATION_CACHE_SECONDS; while the
# store cannot be asked it is kept this long past its last confirmation (or to its token's expiry, if later).
LMS_SSO_OUTAGE_GRACE_SECONDS = env.int("LMS_SSO_OUTAGE_GRACE_SECONDS", default=3600)
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or _local_secret("JWT_SIGNING_KEY")
SERVICE_TOKEN_SIGNING_KEY = env.str("SERVICE_TOKEN_SIGNING_KEY", default="") or _local_secret(
    "SERVICE_TOKEN_SIGNING_KEY")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="cadence")
JWT_ISSUER = env.str("JWT_ISSUER", default="cadence-commerce")
# The SSO handoff token's audience: validate-token accepts it, the store's own APIs do not.
JWT_SSO_AUDIENCE = env.str("JWT_SSO_AUDIENCE", default="cadence-lms")
# Token validation reads revocations, users' public identities and service clients' state from the
# "security" cache alias; a miss reads the database (one query) and caches the answer this long (a
# revocation overwrites it at once; the bound matters for another process's per-process cache and
# for a revocation made while the cache was unreachable).
IDENTITY_USER_CACHE_SECONDS = env.int("IDENTITY_USER_CACHE_SECONDS",
                                      default=300 if SECURITY_CACHE_URL else TOKEN_VALIDATION_CACHE_SECONDS)
# LMS billing-admins may be made commerce-admins by the LMS (000_... section 4.3, optional mapping).
BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN = env.bool("BILLING_ADMIN_MAPS_TO_COMMERCE_ADMIN", default=False)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TTL_SECONDS),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TTL_SECONDS),
    # Rotation, families and reuse detection are identity's own (identity/services/tokens.py).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": False,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": JWT_AUDIENCE,
    "ISSUER": JWT_ISSUER,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 0,
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
}
if SERVES_COMMERCE:
    # Pinned algorithm, type, audience, issuer, expiry, and the revocation cache, on every request.
    SIMPLE_JWT["AUTH_TOKEN_CLASSES"] = ("identity.tokens.AccessToken",)
REST_AUTH = {
    "USE_JWT": True,
    "JWT_AUTH_HTTPONLY": False,
    "JWT_AUTH_RETURN_EXPIRATION": False,
    "SESSION_LOGIN": False,
    "OLD_PASSWORD_FIELD_ENABLED": True,
    "REGISTER_SERIALIZER": "identity.api.serializers.RegisterSerializer",
    "USER_DETAILS_SERIALIZER": "identity.api.serializers.UserSerializer",
    "JWT_SERIALIZER": "identity.api.serializers.TokenPairSerializer",
    "JWT_TOKEN_CLAIMS_SERIALIZER": "identity.api.serializers.TokenFamilyIssuer",
    "PASSWORD_RESET_CONFIRM_SERIALIZER": "identity.api.serializers.PasswordResetConfirmSerializer",
}

# --- API --------------------------------------------------------------------
API_THROTTLING = env.str("API_THROTTLING", default="on").lower() not in {"off", "0", "false", "no"}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "integration.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "integration.openapi.AutoSchema",  # adds the shared 400/401/403/413/429
    "EXCEPTION_HANDLER": "integration.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON nested deeper than integration.parsers.MAX_JSON_DEPTH is a 400, never a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["integration.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ] if API_THROTTLING else [],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
if SERVES_COMMERCE:
    REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] += [
        "identity.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]
SPECTACULAR_SETTINGS = {
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "Commerce (/api/v1/) and LMS (/api/v2/) APIs. Errors: "
                   '{"error": {"code", "message", "details"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: the docs page works without reaching a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The wire contracts reuse field names ("type", "source") with different choice sets.
    "ENUM_NAME_OVERRIDES": {
        "ProductTypeEnum": "integration.contracts.PRODUCT_TYPES",
        "RevenueEventTypeEnum": "integration.contracts.REVENUE_EVENT_TYPES",
        "LmsSourceEnum": "integration.contracts.LMS_SOURCE",
        "EnrollmentStatusSourceEnum": "integration.contracts.ENROLLMENT_STATUS_SOURCES",
        "LmsStaffRoleEnum": "learning.models.STAFF_ROLES",
        "LmsCourseStaffRoleEnum": "learning.models.COURSE_STAFF_ROLES",
    },
}
# Webhook bodies above this size get 413 before they are read.
WEBHOOK_MAX_BODY_BYTES = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = WEBHOOK_MAX_BODY_BYTES
# Multipart bodies (file uploads) may be this big; any other body over DATA_UPLOAD_MAX_MEMORY_SIZE gets 413.
REQUEST_MAX_BODY_BYTES = env.int("REQUEST_MAX_BODY_BYTES", default=10 * 1024 * 1024)

# --- Integration ------------------------------------------------------------
WEBHOOK_SECRETS = env.list("WEBHOOK_SECRETS", default=[]) or [_local_secret("WEBHOOK_SECRET")]
WEBHOOK_TOLERANCE_SECONDS = 300
INBOX_RETENTION_DAYS = 7
# Delivered (and dismissed) outbox messages and their attempts are kept this long; dead letters until
# replayed or dismissed.
OUTBOX_RETENTION_DAYS = env.int("OUTBOX_RETENTION_DAYS", default=14)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=10)
OUTBOX_BASE_DELAY_SECONDS = env.int("OUTBOX_BASE_DELAY_SECONDS", default=60)
OUTBOX_MAX_DELAY_SECONDS = env.int("OUTBOX_MAX_DELAY_SECONDS", default=4 * 3600)
OUTBOX_HTTP_TIMEOUT_SECONDS = env.float("OUTBOX_HTTP_TIMEOUT_SECONDS", default=10.0)
# One attempt's lease; the receiver's inbox claim lasts as long, so the next attempt can take it over.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=max(60, int(OUTBOX_HTTP_TIMEOUT_SECONDS * 3)))
# /readyz warns and outbox_sweep_age_seconds alerts when the last sweep (every 15 s from beat) is older.
OUTBOX_SWEEP_STALE_SECONDS = env.int("OUTBOX_SWEEP_STALE_SECONDS", default=60)
SERVICE_CLIENT_ID = env.str("SERVICE_CLIENT_ID", default="")
SERVICE_CLIENT_SECRET = env.str("SERVICE_CLIENT_SECRET", default="")

# --- Money and payments -----------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
PAYOUT_CLEARING_DAYS = env.int("PAYOUT_CLEARING_DAYS", default=30)
# Revenue: hours after an enrollment ends before its held shares are forfeited (a completion from
# before the end that arrives late still releases them).
REVENUE_FORFEIT_GRACE_HOURS = env.int("REVENUE_FORFEIT_GRACE_HOURS", default=24)
# Orders: Stripe's API address (tests point it at localstripe), its browser key and Stripe.js.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# A buyer may ask for a refund this many days after paying (not after completing the course).
REFUND_WINDOW_DAYS = env.int("REFUND_WINDOW_DAYS", default=14)
# A grant the LMS has not answered after this long is sent again by `reconcile entitlements`.
ENTITLEMENT_RESEND_AFTER_MINUTES = env.int("ENTITLEMENT_RESEND_AFTER_MINUTES", default=10)
# Payouts: bank details and tax ids are encrypted with MultiFernet; the first key encrypts, all decrypt
# (rotation: put the new key first, run `manage.py payouts_rotate_keys`, then drop the old one).
PAYOUT_ENCRYPTION_KEYS = env.list("PAYOUT_ENCRYPTION_KEYS", default=[]) or [_local_secret("PAYOUT_ENCRYPTION_KEY")]
# Transfers: "stripe" (Connect transfers with STRIPE_SECRET_KEY) or "test" (built in, succeeds; the default
# without a Stripe key). PAYOUT_STRIPE_API_BASE points the Stripe client at a local stand-in.
PAYOUT_TRANSFER_ADAPTER = env.str("PAYOUT_TRANSFER_ADAPTER", default="stripe" if STRIPE_SECRET_KEY else "test")
PAYOUT_STRIPE_API_BASE = env.str("PAYOUT_STRIPE_API_BASE", default="")

# --- Email ------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="")
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
elif not EMAIL_BACKEND:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@localhost>")

# --- HTTP security ----------------------------------------------------------
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
# How many proxies in front of this process are ours: integration.client_address trusts that many
# X-Forwarded-For entries from the right (0: the header is ignored). DRF and allauth use the same count.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=0) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = bool(SECURE_HSTS_SECONDS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_CREDENTIALS = False
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=DEBUG)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Static files, i18n -----------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Without DEBUG, pages name hashed, compressed files (cached for ever) that collectstatic wrote;
# `make run` and the deploy steps run it. The same choice in both, whatever is on disk.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# STATIC_COMPRESS=false: hashed names without the .gz/.br copies (collectstatic in seconds, not minutes;
# for throwaway deployments such as the split tests' servers).
if not DEBUG and not env.bool("STATIC_COMPRESS", default=True):
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
WHITENOISE_USE_FINDERS = DEBUG
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------
LOG_FORMAT = env.str("LOG_FORMAT", default="console")  # or "json"
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
# integration.middleware.RequestIdMiddleware validates or makes the request id and writes the one log
# line per request (django-structlog's request middleware cost ~300 us a request and wrote two).
