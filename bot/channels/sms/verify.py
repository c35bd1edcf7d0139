"""Only Twilio may talk to the SMS webhooks: every request must carry a valid
X-Twilio-Signature.

The signature is checked against the public address Twilio called
(PUBLIC_BASE_URL + path + query), not the address the app sees, so it holds
behind a TLS-terminating proxy and for Messaging Services alike. Anything that
cannot be a Twilio webhook (no signature, a wrong one, no public address set,
a body that is not UTF-8 form data, a body far larger than Twilio sends) is
refused with 403 before anything is read into the engine or the database.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile
from twilio.request_validator import RequestValidator

from bot.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
# Twilio's webhooks are a few kilobytes at most (a 1600-character body and
# up to ten media URLs); anything far larger is not from Twilio.
MAX_BODY_BYTES = 64 * 1024


def public_url(settings: Settings, request: Request) -> str:
    """The address Twilio called, as Twilio signed it."""
    url = settings.public_base_url.rstrip("/") + request.url.path
    query = request.url.query
    return f"{url}?{query}" if query else url


def _forbidden(reason: str) -> HTTPException:
    log.warning("SMS webhook refused: %s", reason)  # the reason only, never the payload
    return HTTPException(status_code=403)


async def _read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _forbidden("body too large")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise _forbidden("body too large")
    return bytes(body)


async def signed_form(request: Request, settings: Settings) -> FormData:
    """The form Twilio posted, once its signature is proven; otherwise 403."""
    if not settings.public_base_url or not settings.twilio_auth_token:
        raise _forbidden("PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN is not set")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        raise _forbidden("no signature")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _forbidden("not form data")
    body = await _read_capped(request)
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise _forbidden("form is not UTF-8") from None
    fields: list[tuple[str, str | UploadFile]] = list(pairs)
    form = FormData(fields)
    validator = RequestValidator(settings.twilio_auth_token)
    if not validator.validate(public_url(settings, request), form, signature):
        raise _forbidden("wrong signature")
    return form
