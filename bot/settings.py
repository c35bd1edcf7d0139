"""All configuration, read from environment variables in one place.

Every variable is documented in README.md and .env.example. In development a
missing service secret is generated once and kept under ./var (never
committed); in production a missing secret stops start-up.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    frontdoor_env: str = Field("development", description="development or production")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under VAR_DIR")
    var_dir: Path = Field(PROJECT_ROOT / "var", description="local data: SQLite, dev secret")
    frontdoor_secret: str = Field("", description="service secret for hashing and encryption")
    frontdoor_old_secrets: str = Field(
        "", description="comma-separated previous secrets: they open data, never seal (rotation)"
    )
    content_dir: Path = PROJECT_ROOT / "content"
    locales_dir: Path = PROJECT_ROOT / "locales"
    default_locale: str = "en"
    shipped_locales: str = Field(
        "en,pl,ro,lt,pt,bg,tr,uk,ur,ar", description="comma-separated locales offered"
    )
    inactivity_timeout_minutes: int = 30
    db_timeout_seconds: float = Field(
        5, description="longest wait for a database connection, lock or statement"
    )
    retention_days: int = Field(28, description="days a callback request is kept")
    message_retention_hours: int = Field(
        48, description="hours a handled message id, a sent outbox row and a Telegram id are kept"
    )
    conversation_retention_days: int = Field(
        30, description="days an idle conversation is kept when its person has no open request"
    )
    audit_retention_days: int = Field(365, description="days an audit event is kept")
    text_before_call_expiry_minutes: int = Field(
        15, description="the text before a call is void (never sent) this long after queueing"
    )
    sender_max_messages: int = Field(
        20, description="messages one sender may send per window before being slowed"
    )
    sender_window_seconds: int = Field(60, description="the window the sender cap counts in")
    stub_conversation_minutes: int = Field(
        60, description="a conversation that never got past the greeting is deleted when idle"
    )
    message_id_retention_days: int = Field(
        30, description="days a hashed Twilio MessageSid is kept so a replay runs nothing"
    )
    log_level: str = "INFO"
    port: int = 8000
    simulator: bool | None = Field(
        None, description="the practice simulator; unset means on in development, off in production"
    )
    metrics_token: str = Field("", description="bearer token for /metrics; empty turns it off")
    sentry_dsn: str = Field("", description="error reporting (Sentry); empty turns it off")

    # Channels: each is off until its credentials are set (README, "Connecting").
    public_base_url: str = Field("", description="https address the providers call, no slash")
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = Field("", description="the Twilio number that sends, E.164")
    twilio_messaging_service_sid: str = Field("", description="or a Messaging Service")
    twilio_handles_opt_out: bool = Field(
        True, description="Twilio answers STOP/START itself (its Advanced Opt-Out default)"
    )
    whatsapp_from: str = Field(
        "", description="the Twilio WhatsApp sender, whatsapp:+44...; empty keeps WhatsApp off"
    )
    whatsapp_text_before_call_content_sid: str = Field(
        "", description="approved WhatsApp template (HX...) for the text before a call"
    )
    whatsapp_chat_reply_content_sid: str = Field(
        "",
        description="approved WhatsApp template (HX...) telling a person a worker replied",
    )
    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base_url: str = Field(
        "", description="a local Bot API server instead of api.telegram.org"
    )
    telegram_staff_chat_id: str = Field("", description="staff chat for urgent-request notices")
    webchat_address_max_messages: int = Field(
        120, ge=1, description="web chat messages one client address may send per sender window"
    )
    webchat_address_max_chats: int = Field(
        30, ge=1, description="new web chats one client address may start per hour"
    )

    # Call-handler dashboard (README, "Dashboard").
    dashboard_idle_minutes: int = Field(15, description="sign a handler out after this idle time")
    claim_release_minutes: int = Field(30, description="an untouched claim returns to the queue")
    login_max_failures: int = Field(
        5, description="sign-in tries one account gets from one address per window"
    )
    login_max_failures_per_address: int = Field(
        20, description="failed sign-ins from one address, across accounts, per window"
    )
    login_lockout_minutes: int = Field(15, description="the window, and how long a refusal lasts")
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="proxies whose X-Forwarded-For gives the client address (comma-separated)",
    )
    urgent_priority: int = Field(3, description="priority at which a request counts as urgent")
    code_word_tries: int = Field(
        3, ge=1, description="wrong code words before a sender is locked out"
    )
    code_word_lock_minutes: int = Field(
        60, ge=1, description="how long a sender is locked out after too many wrong code words"
    )

    # Live chat with a worker (README, "Live chat").
    chat_max_open_per_worker: int = Field(
        3, ge=1, description="open chats one worker may hold at once"
    )
    chat_reply_window_minutes: int = Field(
        15, ge=1, description="a worker may reply this long after the person's last message"
    )
    chat_transcript_days: int = Field(28, ge=1, description="days a chat transcript is kept")
    chat_wait_alert_minutes: int = Field(
        5, ge=1, description="supervisors are alerted when a chat waits longer than this"
    )
    chat_long_message_segments: int = Field(
        2, ge=1, description="SMS segments a staff message may use before it must be confirmed"
    )

    @property
    def sms_enabled(self) -> bool:
        return bool(
            self.twilio_account_sid
            and self.twilio_auth_token
            and (self.twilio_from or self.twilio_messaging_service_sid)
        )

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.whatsapp_from)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def locales(self) -> list[str]:
        return [loc.strip() for loc in self.shipped_locales.split(",") if loc.strip()]

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Heroku-style URLs name the dialect "postgres"; SQLAlchemy wants psycopg 3.
            for prefix in ("postgres://", "postgresql://"):
                if url.startswith(prefix):
                    return "postgresql+psycopg://" + url[len(prefix) :]
            return url
        return f"sqlite:///{self.var_dir / 'frontdoor.db'}"

    def secret(self) -> bytes:
        """The service secret; generated and kept under var/ in development."""
        if self.frontdoor_secret:
            return self.frontdoor_secret.encode()
        if self.frontdoor_env == "production":
            raise RuntimeError("FRONTDOOR_SECRET must be set in production")
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created readable by its owner only, from the first byte.
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "w") as file:
                file.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def old_secrets(self) -> list[bytes]:
        """Previous secrets kept while `frontdoor keys rotate` re-seals their data."""
        return [
            part.strip().encode() for part in self.frontdoor_old_secrets.split(",") if part.strip()
        ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
