"""Settings read from the environment (12-factor).

``FONDOS_ENV`` picks the profile: ``development`` (default for ``make run``), ``testing`` or
``production``. Every setting can be overridden by an environment variable of the same name.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("FONDOS_INSTANCE_DIR", BASE_DIR / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key() -> str:
    """A per-checkout key kept in instance/ so development sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    ENV_NAME = "base"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'fondos.db'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions: HttpOnly, SameSite=Lax; Secure everywhere except development.
    SESSION_COOKIE_NAME = "fondos_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    REMEMBER_COOKIE_DURATION = timedelta(0)

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 80 * 1024 * 1024  # whole request; each upload has its own, smaller limit
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    AGREEMENT_SCAN_MAX_BYTES = 10 * 1024 * 1024
    BENEFICIARY_LIST_MAX_BYTES = 64 * 1024 * 1024
    DEBARMENT_LIST_MAX_BYTES = 10 * 1024 * 1024  # the CSV of debarred suppliers (admins)
    INVOICE_PEOPLE_MAX_BYTES = 2 * 1024 * 1024  # the CSV of document numbers of the people an invoice serves
    BANK_STATEMENT_MAX_BYTES = 10 * 1024 * 1024  # a bank statement (camt.053 XML or CSV) uploaded by treasury

    # Notifications by e-mail: only when SMTP_HOST is set (an outbox, sent after commit).
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_USER = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = False
    MAIL_FROM = "fondos@mjsp.example.org"
    MAIL_MAX_ATTEMPTS = 5
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    BABEL_DEFAULT_LOCALE = "es"
    BABEL_DEFAULT_TIMEZONE = "America/El_Salvador"
    LANGUAGES = ("es", "en")

    # Login throttling (grants/throttle.py): failed attempts per account and per client address,
    # web form and API together, counted in the database so every worker and machine shares them.
    LOGIN_THROTTLE_ENABLED = True
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per minute"
    VERIFY_LIMIT_PER_ADDRESS = "20 per minute"   # /verificar and the API's verify: pyHanko on anyone's PDF

    API_TOKEN_TTL = timedelta(hours=12)
    API_TOKEN_MAX_TTL = timedelta(days=30)
    API_PAGE_SIZE_MAX = 200

    # flask-smorest / OpenAPI
    API_TITLE = "Fondos API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"  # served locally from swagger-ui-bundle

    # Argon2id parameters (OWASP: m=19 MiB, t=2, p=1 is the minimum; we use 46 MiB, t=1, p=1,
    # one of OWASP's equivalent configurations).
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 47104
    ARGON2_PARALLELISM = 1

    DEMO_PASSWORD = "demo-2026"

    # Money (issue 5). Payments above this amount need two different authorizers (besides the
    # preparer). An advance's expense statement is due this many days after its period ends.
    PAYMENT_DUAL_AUTHORIZATION_THRESHOLD = "25000.00"
    ADVANCE_LIQUIDATION_DAYS = 30
    # Issue 10. An invoice's service period may end at most this many days after its issue date
    # (0: the service is over when it is invoiced); a later end is only for an advance invoice
    # (factura anticipada), which is never paid directly.
    INVOICE_SERVICE_AFTER_ISSUE_DAYS = 0
    # A refund or a fine deposit declared by the NGO and not confirmed by treasury after these days
    # is a finding (rule refund_unconfirmed).
    DEPOSIT_CONFIRMATION_DAYS = 10
    # Due process: the NGO may reply to an incident (descargo) within these working days before a
    # sanction, suspension or termination takes effect (unless urgent, with the reason).
    INCIDENT_REPLY_WORKING_DAYS = 5
    EXPENSE_STATEMENT_MAX_BYTES = 10 * 1024 * 1024
    RECEIPT_SCAN_MAX_BYTES = 10 * 1024 * 1024
    INCIDENT_EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
    ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024     # every attachment kind without a setting of its own

    # Liquidation checks (issue 6): thresholds of the rules, documented in grants/audit/rules.py.
    AUDIT_SPLIT_INVOICE_THRESHOLD = "5000.00"   # each invoice under it, together over it …
    AUDIT_SPLIT_INVOICE_DAYS = 15               # … same supplier and agreement, within these days
    AUDIT_ROUND_AMOUNT_MIN_RECEIPTS = 5         # receipts of an agreement before the share counts
    AUDIT_ROUND_AMOUNT_SHARE = "0.50"           # share of receipts with whole-hundred amounts
    AUDIT_SUPPLIER_SHARE = "0.40"               # one supplier's share of an agreement's spending
    # Database connections a check run reads through (PostgreSQL only; SQLite always uses one):
    # 1 = the rules one after another on the request's connection; 2 (or more) = the rules in two
    # groups, the second on a new connection of its own that reads the same snapshot
    # (pg_export_snapshot). See grants/services/audit_checks.py, "Two connections".
    AUDIT_CHECK_WORKERS = 2

    # Operations (issue 12). Logs: JSON lines when LOG_FORMAT=json, and by default in production.
    LOG_FORMAT = ""          # "json" or "text"; empty = json in production, text elsewhere
    LOG_LEVEL = "INFO"
    METRICS_TOKEN = ""       # bearer token for /metrics; empty = no /metrics (404)
    # Proxies in front of the app (each appends to X-Forwarded-For/-Proto): how many to believe, so the
    # client's address (login throttling, logs, audit) is the client's and not the proxy's. 0: none.
    PROXY_HOPS = 0
    LEDGER_CHECK_METRICS_SECONDS = 300  # /metrics reruns the ledger check at most this often (0 = never)
    # Long work (grants/jobs.py): "queue" = jobs go to the PostgreSQL job queue and `flask worker`
    # processes run them; "inline" = they run in the web process after the response. Empty: queue on
    # PostgreSQL in production, inline otherwise (`make run` needs no worker; JOBS_MODE=queue with
    # `flask worker` tries the queue in development).
    JOBS_MODE = ""
    # Signed documents (issue 15, grants/services/signing.py). Every PDF Fondos issues as the ministry
    # is signed (PAdES) with this PKCS#12; empty passphrase = read ``<p12 without suffix>.pass`` beside
    # it (the demo CA's layout). SIGNING_TSA_URL: an RFC 3161 timestamp authority (empty: no timestamp).
    # SIGNING_REQUIRED: refuse to issue a document when the certificate is missing (production);
    # otherwise it is issued unsigned (IssuedDocument.signed = false) with a warning in the log.
    # SIGNING_TRUST_ROOTS: PEM file(s) (os.pathsep-separated) /verificar trusts.
    SIGNING_P12 = str(INSTANCE_DIR / "signing" / "ministry.p12")
    SIGNING_PASSPHRASE = ""
    SIGNING_TSA_URL = ""
    SIGNING_REQUIRED = False
    SIGNING_TRUST_ROOTS = str(INSTANCE_DIR / "signing" / "ca.pem")
    VERIFY_MAX_BYTES = 20 * 1024 * 1024  # a PDF uploaded to /verificar
    BENEFICIARY_IMPORT_PAUSE = 0.0  # tests only: seconds slept every 2,000 rows of a list (a slow import)

    # Issue 15. The ministry's own bank accounts treasury pays from (the debtor of a payment batch's
    # pain.001 file): a list of {"id", "name" (holder), "account", "bank", "bic" (optional)}. Set
    # TREASURY_ACCOUNTS to a JSON list to replace this demo account; MINISTRY_NAME is the file's
    # initiating party.
    MINISTRY_NAME = "Ministerio de Justicia y Seguridad Pública"
    TREASURY_ACCOUNTS: list = [
        {"id": "mjsp-fondos", "name": "Ministerio de Justicia y Seguridad Pública - Prevención de la violencia",
         "account": "100-200-300-4", "bank": "Banco Central de Reserva de El Salvador", "bic": "BCRSSVSS"},
    ]


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SESSION_COOKIE_SECURE = False


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SESSION_COOKIE_SECURE = False
    SECRET_KEY = "testing-only-secret-key-not-for-production"
    # Tests hash many passwords: the same algorithm (Argon2id) with the smallest OWASP memory.
    ARGON2_MEMORY_COST = 19456
    ARGON2_TIME_COST = 2
    # Each test runs in a transaction rolled back afterwards: no worker could see its jobs. The
    # queue's own tests ask for JOBS_MODE="queue" on a database that really commits.
    JOBS_MODE = "inline"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SIGNING_REQUIRED = True  # a document the ministry issues is never handed out unsigned
    # A connection the database closed (a restart, a failover, PgBouncer) is replaced, not handed out.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}


PROFILES = {c.ENV_NAME: c for c in (DevelopmentConfig, TestingConfig, ProductionConfig)}

_OVERRIDABLE = (
    "SECRET_KEY",
    "UPLOAD_DIR",
    "SMTP_HOST",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "MAIL_FROM",
    "PUBLIC_BASE_URL",
    "SESSION_COOKIE_SECURE",
    "LOGIN_LIMIT_PER_ACCOUNT",
    "LOGIN_LIMIT_PER_ADDRESS",
    "VERIFY_LIMIT_PER_ADDRESS",
    "PAYMENT_DUAL_AUTHORIZATION_THRESHOLD",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_TOKEN",
    "JOBS_MODE",
    "MINISTRY_NAME",
)


_INTEGERS = (
    "ADVANCE_LIQUIDATION_DAYS",
    "INVOICE_SERVICE_AFTER_ISSUE_DAYS",
    "DEPOSIT_CONFIRMATION_DAYS",
    "INCIDENT_REPLY_WORKING_DAYS",
    "LEDGER_CHECK_METRICS_SECONDS",
    "PROXY_HOPS",
)


def load_config(profile: str | None = None, **overrides) -> dict:
    """Return the settings dict for ``profile`` (or ``FONDOS_ENV``), environment applied."""
    name = profile or os.environ.get("FONDOS_ENV", "development")
    if name not in PROFILES:
        raise RuntimeError(f"FONDOS_ENV must be one of {sorted(PROFILES)}, not {name!r}")
    cls = PROFILES[name]
    settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    if os.environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    for key in _OVERRIDABLE:
        if key in os.environ:
            value: object = os.environ[key]
            if key == "SESSION_COOKIE_SECURE":
                value = _env_bool(key, True)
            settings[key] = value
    if "SMTP_PORT" in os.environ:
        settings["SMTP_PORT"] = int(os.environ["SMTP_PORT"])
    if "SMTP_STARTTLS" in os.environ:
        settings["SMTP_STARTTLS"] = _env_bool("SMTP_STARTTLS", False)
    for key in _INTEGERS:
        if key in os.environ:
            settings[key] = int(os.environ[key])
    if "API_TOKEN_TTL_HOURS" in os.environ:
        settings["API_TOKEN_TTL"] = timedelta(hours=float(os.environ["API_TOKEN_TTL_HOURS"]))
    for key in ("SIGNING_P12", "SIGNING_PASSPHRASE", "SIGNING_TSA_URL", "SIGNING_TRUST_ROOTS"):
        if f"FONDOS_{key}" in os.environ:
            settings[key] = os.environ[f"FONDOS_{key}"]
    if "FONDOS_SIGNING_REQUIRED" in os.environ:
        settings["SIGNING_REQUIRED"] = _env_bool("FONDOS_SIGNING_REQUIRED", False)
    if "BENEFICIARY_IMPORT_PAUSE" in os.environ:
        settings["BENEFICIARY_IMPORT_PAUSE"] = float(os.environ["BENEFICIARY_IMPORT_PAUSE"])
    if "TREASURY_ACCOUNTS" in os.environ:
        settings["TREASURY_ACCOUNTS"] = treasury_accounts(os.environ["TREASURY_ACCOUNTS"])
    settings.update(overrides)
    if name == "production":
        check_production(settings)
    if settings.get("JOBS_MODE") not in ("queue", "inline"):
        settings["JOBS_MODE"] = ("queue" if name == "production"
                                 and settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "inline")
    if settings["JOBS_MODE"] == "queue" and not settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise RuntimeError("JOBS_MODE=queue needs PostgreSQL: the job queue lives there")
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = _dev_secret_key()
    return settings


def treasury_accounts(raw: str) -> list[dict]:
    """``TREASURY_ACCOUNTS`` from the environment: a JSON list of accounts, each with a unique
    ``id``, ``name``, ``account`` and ``bank`` (``bic`` optional). Anything else stops the start."""
    import json
    import re

    try:
        accounts = json.loads(raw)
    except ValueError as exc:
        raise RuntimeError(f"TREASURY_ACCOUNTS is not JSON: {exc}") from None
    if not isinstance(accounts, list) or not accounts:
        raise RuntimeError("TREASURY_ACCOUNTS must be a non-empty JSON list of accounts")
    seen, result = set(), []
    for entry in accounts:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip()
                                                  for k in ("id", "name", "account", "bank")):
            raise RuntimeError("each TREASURY_ACCOUNTS entry needs id, name, account and bank (text)")
        bic = str(entry.get("bic") or "").strip().upper()
        if bic and not re.fullmatch(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?", bic):
            raise RuntimeError(f"TREASURY_ACCOUNTS: {bic!r} is not a BIC")
        if len(entry["id"].strip()) > 40 or len(entry["account"].strip()) > 34 or entry["id"] in seen:
            raise RuntimeError("TREASURY_ACCOUNTS: ids are unique (at most 40 characters), accounts at most 34")
        seen.add(entry["id"])
        result.append({"id": entry["id"].strip(), "name": entry["name"].strip(),
                       "account": entry["account"].strip(), "bank": entry["bank"].strip(), "bic": bic or None})
    return result


class ProductionConfigError(RuntimeError):
    """FONDOS_ENV=production with settings that only make sense on a developer's machine."""


# Keys that are not secrets: the testing profile's, and what people type as a placeholder.
_NOT_SECRET = {TestingConfig.SECRET_KEY, "changeme", "change-me", "secret", "dev", "development", "test",
               "secret-key", "your-secret-key", "replace-me"}
SECRET_KEY_MIN_LENGTH = 32


def production_problems(settings: dict) -> list[str]:
    """What keeps these settings from running in production (empty: nothing)."""
    problems = []
    key = str(settings.get("SECRET_KEY") or "")
    if not key:
        problems.append("SECRET_KEY is not set: generate one with "
                        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and keep it secret")
    elif key.strip().lower() in _NOT_SECRET or len(key) < SECRET_KEY_MIN_LENGTH:
        problems.append(f"SECRET_KEY is not a real secret (a placeholder, or shorter than "
                        f"{SECRET_KEY_MIN_LENGTH} characters)")
    url = str(settings.get("SQLALCHEMY_DATABASE_URI") or "")
    if not os.environ.get("DATABASE_URL") and url == Config.SQLALCHEMY_DATABASE_URI:
        problems.append("DATABASE_URL is not set: production runs on PostgreSQL "
                        "(DATABASE_URL=postgresql+psycopg://user@host/db)")
    elif not url.startswith("postgresql"):
        problems.append(f"DATABASE_URL must be a PostgreSQL database in production, not "
                        f"{url.split(':', 1)[0] or 'empty'} (the job queue, row locks and several "
                        f"processes need PostgreSQL)")
    return problems


def check_production(settings: dict) -> None:
    problems = production_problems(settings)
    if problems:
        raise ProductionConfigError("FONDOS_ENV=production refuses to start:\n" +
                                    "\n".join(f"  - {p}" for p in problems))
