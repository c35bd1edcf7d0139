"""Proactive texts through Twilio's REST API, for the worker's outbox.

The outbox decides what may be sent and makes sure nothing is sent twice;
this sender only says how one attempt went, in the outbox's terms:

- `Sent`: Twilio accepted the message (its sid, segments, encoding).
- `SendRefused(opted_out=True)`: error 21610, the number said STOP.
- `SendDeferred`: surely not sent - Twilio asked us to slow down (429), it
  failed on its side (5xx), or no connection was ever made. Retry later,
  after Retry-After when Twilio gives one.
- `SendRefused`: any other refusal (a bad number, say); never retried.
- Anything else (a read timeout: the text may have gone) is raised, so the
  outbox marks the message failed rather than risk a second copy.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import MaxRetryError, NewConnectionError

from bot.outbox import SendDeferred, SendRefused, Sent
from bot.settings import Settings
from bot.text import sms_segments, to_gsm_plain

OPTED_OUT = 21610
TIMEOUT_SECONDS = 20.0


class _LastResponse(HttpClient):
    """Wraps the real HTTP client to keep each thread's last response, because
    Twilio's exceptions drop the headers (Retry-After) we need."""

    def __init__(self, inner: HttpClient) -> None:
        super().__init__(inner.logger, False, inner.timeout)
        self.inner = inner
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self._local.response = None
        response = self.inner.request(*args, **kwargs)
        self._local.response = response
        return response

    def retry_after(self) -> float | None:
        response = getattr(self._local, "response", None)
        headers = getattr(response, "headers", None) or {}
        value = str(headers.get("Retry-After") or headers.get("retry-after") or "").strip()
        try:
            return max(0.0, float(value)) if value else None
        except ValueError:
            return None  # an HTTP date: the outbox's own backoff is long enough


def _never_connected(error: RequestsConnectionError) -> bool:
    """True when the request surely never reached Twilio (no connection was made)."""
    if isinstance(error, ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


class SmsSender:
    """Sends one text with Twilio's client; see the module notes for outcomes."""

    channel = "sms"

    def __init__(self, settings: Settings, http_client: HttpClient | None = None) -> None:
        # Twilio's client logs each request's URL and headers at INFO; our logs
        # keep to outcomes (error types and counts).
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        self.settings = settings
        self.http = _LastResponse(http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS))
        self.client = Client(
            settings.twilio_account_sid, settings.twilio_auth_token, http_client=self.http
        )

    def _create(self, address: str, body: str) -> str:
        """Runs in a worker thread, where the last response (Retry-After) is kept."""
        settings = self.settings
        options: dict[str, Any] = {"to": address, "body": body}
        if settings.twilio_messaging_service_sid:
            options["messaging_service_sid"] = settings.twilio_messaging_service_sid
        else:
            options["from_"] = settings.twilio_from
        return self._post(options, "/sms/status")

    def _post(self, options: dict[str, Any], status_path: str) -> str:
        """One message through Twilio's client (WhatsApp's sender shares it);
        its sid, or the outbox's verdict raised."""
        settings = self.settings
        if settings.public_base_url:
            options["status_callback"] = settings.public_base_url.rstrip("/") + status_path
        try:
            return str(self.client.messages.create(**options).sid)
        except (TwilioRestException, TwilioServiceException) as error:
            raise self._verdict(int(error.status or 0), error.code) from None
        except RequestsConnectionError as error:
            if _never_connected(error):
                raise SendDeferred("connection") from None
            raise

    async def send(self, address: str, text: str) -> Sent:
        body = to_gsm_plain(text)
        encoding, segments = sms_segments(body)
        sid = await asyncio.to_thread(self._create, address, body)
        return Sent(sid, segments, encoding)

    def _verdict(self, status: int, code: int | None) -> SendDeferred | SendRefused:
        if code == OPTED_OUT:
            return SendRefused(str(OPTED_OUT), opted_out=True)
        if status == 429 or status >= 500:
            return SendDeferred(str(code or status), self.http.retry_after())
        return SendRefused(str(code or status))
