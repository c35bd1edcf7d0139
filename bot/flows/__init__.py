"""Every conversation flow, built once at start-up from its module and content.

To find a journey, open its module here: first_contact, who, info (menus
and topics from content/info), reflection, callback, my_request, language,
support (what follows a crisis, child or harm-risk signal), live_chat
(texting with a worker).
"""

from __future__ import annotations

from bot.content.model import Content
from bot.flows import (
    callback,
    first_contact,
    info,
    language,
    live_chat,
    my_request,
    reflection,
    support,
    who,
)
from bot.flows.base import Flow

FLOW_NAMES = (
    "first_contact",
    "who",
    "info",
    "reflection",
    "callback",
    "my_request",
    "language",
    "support",
    "live_chat",
)


def build_flows(content: Content, locales: list[str]) -> dict[str, Flow]:
    flows = [
        first_contact.build(),
        who.build(),
        info.build(content),
        reflection.build(content),
        callback.build(content),
        my_request.build(content),
        language.build(locales),
        support.build(),
        live_chat.build(content),
    ]
    return {flow.name: flow for flow in flows}
