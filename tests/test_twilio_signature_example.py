"""Our signature check agrees with the worked example in Twilio's documentation.

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
from urllib.parse import urlencode

import pytest
from fastapi import HTTPException
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from bot.channels.twilio_signature import SIGNATURE_HEADER, public_url, signed_form
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


def _request(path_and_query: str, body: bytes, signature: str) -> Request:
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
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
            (SIGNATURE_HEADER.lower().encode(), signature.encode()),
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
