"""Our signature check (bot/channels/sms/verify.py) against Twilio's documented example.

Twilio's "Webhooks security" page signs a voice webhook for
https://mycompany.com/myapp.php?foo=1&bar=2 with auth token 12345 and gives the
signature; if our check (or the library it wraps) drifted from Twilio's
algorithm, every real SMS would be refused or, worse, a forged one accepted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from urllib.parse import urlencode

import pytest
from fastapi import HTTPException
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from bot.channels.sms.verify import MAX_BODY_BYTES, SIGNATURE_HEADER, public_url, signed_form
from bot.settings import Settings

AUTH_TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
EXPECTED = "GvWf1cFY/Q7PnoempGyD5oXAezc="


def _by_hand(url: str, params: dict[str, str]) -> str:
    """Twilio's published algorithm: URL + sorted name/value pairs, HMAC-SHA1, base64."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(AUTH_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _request(
    path_and_query: str,
    body: bytes,
    signature: str | None,
    content_type: bytes | None = b"application/x-www-form-urlencoded",
) -> Request:
    path, _, query = path_and_query.partition("?")
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [
            *([(b"content-type", content_type)] if content_type is not None else []),
            (b"content-length", str(len(body)).encode()),
            *([(SIGNATURE_HEADER.lower().encode(), signature.encode())] if signature else []),
        ],
        "server": ("internal.local", 8000),
        "scheme": "http",
    }
    return Request(scope, receive)


def _settings() -> Settings:
    return Settings(public_base_url="https://mycompany.com", twilio_auth_token=AUTH_TOKEN)


def test_the_published_algorithm_gives_the_documented_signature() -> None:
    assert _by_hand(URL, PARAMS) == EXPECTED


def test_the_twilio_library_gives_the_documented_signature() -> None:
    validator = RequestValidator(AUTH_TOKEN)
    assert validator.compute_signature(URL, PARAMS) == EXPECTED
    assert validator.validate(URL, PARAMS, EXPECTED)


def test_our_check_accepts_the_documented_example_behind_a_proxy() -> None:
    """The app sees an internal address; it checks PUBLIC_BASE_URL + path + query."""
    request = _request("/myapp.php?foo=1&bar=2", urlencode(PARAMS).encode(), EXPECTED)
    assert public_url(_settings(), request) == URL
    form = asyncio.run(signed_form(request, _settings()))
    assert dict(form) == PARAMS


@pytest.mark.parametrize(
    "change",
    [
        {"Digits": "1235"},  # one parameter altered
        {"Extra": "x"},  # one parameter added
    ],
)
def test_our_check_refuses_the_example_altered(change: dict[str, str]) -> None:
    body = urlencode({**PARAMS, **change}).encode()
    request = _request("/myapp.php?foo=1&bar=2", body, EXPECTED)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(signed_form(request, _settings()))
    assert refused.value.status_code == 403


def test_our_check_refuses_the_example_at_another_address() -> None:
    request = _request("/myapp.php?foo=1&bar=3", urlencode(PARAMS).encode(), EXPECTED)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(signed_form(request, _settings()))
    assert refused.value.status_code == 403


def test_our_check_refuses_a_wrong_token() -> None:
    settings = Settings(public_base_url="https://mycompany.com", twilio_auth_token="54321")
    request = _request("/myapp.php?foo=1&bar=2", urlencode(PARAMS).encode(), EXPECTED)
    with pytest.raises(HTTPException):
        asyncio.run(signed_form(request, settings))


def test_a_trailing_slash_on_the_public_address_is_ignored() -> None:
    """PUBLIC_BASE_URL set as "https://mycompany.com/" must still match what Twilio signed."""
    settings = Settings(public_base_url="https://mycompany.com/", twilio_auth_token=AUTH_TOKEN)
    request = _request("/myapp.php?foo=1&bar=2", urlencode(PARAMS).encode(), EXPECTED)
    assert public_url(settings, request) == URL
    assert dict(asyncio.run(signed_form(request, settings))) == PARAMS


def test_an_address_without_a_query_is_signed_without_a_question_mark() -> None:
    url = "https://mycompany.com/sms/inbound"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, PARAMS)
    request = _request("/sms/inbound", urlencode(PARAMS).encode(), signature)
    assert public_url(_settings(), request) == url
    assert dict(asyncio.run(signed_form(request, _settings()))) == PARAMS


# ----- refusals: 403, with the reason (never the payload) in the log ---------------


def _refusal(settings: Settings, request: Request, caplog: pytest.LogCaptureFixture) -> str:
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="bot.channels.sms.verify"),
        pytest.raises(HTTPException) as refused,
    ):
        asyncio.run(signed_form(request, settings))
    assert refused.value.status_code == 403
    [record] = [r for r in caplog.records if r.name == "bot.channels.sms.verify"]
    return record.getMessage()


@pytest.mark.parametrize(
    "settings",
    [
        Settings(public_base_url="", twilio_auth_token=AUTH_TOKEN),
        Settings(public_base_url="https://mycompany.com", twilio_auth_token=""),
    ],
)
def test_without_address_or_token_everything_is_refused(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    request = _request("/myapp.php?foo=1&bar=2", urlencode(PARAMS).encode(), EXPECTED)
    logged = _refusal(settings, request, caplog)
    assert logged == "SMS webhook refused: PUBLIC_BASE_URL or TWILIO_AUTH_TOKEN is not set"


def test_each_refusal_logs_its_reason_and_nothing_sent(caplog: pytest.LogCaptureFixture) -> None:
    body = urlencode(PARAMS).encode()
    cases = {
        "no signature": _request("/myapp.php?foo=1&bar=2", body, None),
        "wrong signature": _request("/myapp.php?foo=1&bar=2", body, EXPECTED[::-1]),
        "body too large": _request("/x", b"a=" + b"b" * MAX_BODY_BYTES, "sig"),
    }
    for reason, request in cases.items():
        logged = _refusal(_settings(), request, caplog)
        assert logged == f"SMS webhook refused: {reason}"
        assert PARAMS["From"] not in logged and PARAMS["Digits"] not in logged


def test_a_body_of_exactly_the_cap_is_read() -> None:
    """The cap refuses what is larger than MAX_BODY_BYTES, not a body of that size."""
    params = {**PARAMS, "Body": ""}
    params["Body"] = "x" * (MAX_BODY_BYTES - len(urlencode(params)))
    body = urlencode(params).encode()
    assert len(body) == MAX_BODY_BYTES
    signature = RequestValidator(AUTH_TOKEN).compute_signature(URL, params)
    request = _request("/myapp.php?foo=1&bar=2", body, signature)
    assert dict(asyncio.run(signed_form(request, _settings()))) == params
    too_big = _request("/myapp.php?foo=1&bar=2", body + b"x", signature)
    with pytest.raises(HTTPException):
        asyncio.run(signed_form(too_big, _settings()))


def test_form_data_with_a_charset_is_read() -> None:
    body = urlencode(PARAMS).encode()
    for content_type in (
        b"application/x-www-form-urlencoded; charset=UTF-8",
        b"Application/X-WWW-Form-Urlencoded ;charset=utf-8",
    ):
        request = _request("/myapp.php?foo=1&bar=2", body, EXPECTED, content_type)
        assert dict(asyncio.run(signed_form(request, _settings()))) == PARAMS


@pytest.mark.parametrize("content_type", [None, b"application/json", b"multipart/form-data"])
def test_anything_but_form_data_is_refused(
    content_type: bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    request = _request("/myapp.php?foo=1&bar=2", urlencode(PARAMS).encode(), EXPECTED, content_type)
    assert _refusal(_settings(), request, caplog) == "SMS webhook refused: not form data"
