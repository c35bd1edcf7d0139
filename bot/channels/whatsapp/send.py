"""Messages Front Door starts on WhatsApp, for the worker's outbox.

WhatsApp lets a business write freely only inside the 24-hour window
(window.py); anything it starts later must be a template the business had
approved (Twilio's Content API, a content SID "HX..."). So:

- the text before a call always goes as its approved template
  (WHATSAPP_TEXT_BEFORE_CALL_CONTENT_SID): it is proactive by nature. With no
  template set the row is void ("no_whatsapp_template"), never sent free-form;
- a worker's live-chat line goes free-form inside the window. Outside it,
  only when the person agreed to later texts and WHATSAPP_CHAT_REPLY_CONTENT_SID
  is set, the neutral template ("You have a new message. Reply to read it.")
  goes instead and the line waits as "notified" until the person replies
  (bot/channels/whatsapp/webhook.py releases it). Otherwise the row is void:
  "whatsapp_no_consent" or "no_whatsapp_template", which the chat page explains;
- any other kind goes free-form, and only inside the window; outside it the
  row is void ("outside_whatsapp_window"), so nothing goes that WhatsApp
  would refuse or that the person did not just invite;
- a number that said STOP on WhatsApp gets nothing (void, "opted_out").

How a send went is judged as for SMS (bot/channels/sms/send.py): 429 and 5xx
are retried, a send that may have reached Twilio is never repeated, and any
other refusal, such as 63016 (Twilio's own 24-hour check), is final.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.channels.sms.send import SmsSender
from bot.channels.whatsapp.inbound import whatsapp_address
from bot.channels.whatsapp.webhook import CHANNEL, STATUS_PATH
from bot.channels.whatsapp.window import inside_window
from bot.outbox import Sent
from bot.storage import chats
from bot.storage.models import Outbox, SmsOptOut

# Kinds that only ever go as their approved template, inside the window or not.
TEMPLATE_ONLY = frozenset({"text_before_call"})
# What a worker's line is sent as when the window has closed (`send_as`).
CHAT_NOTICE = "chat_reply_notice"


class WhatsAppSender(SmsSender):
    """Twilio's client as the SMS sender has it, writing to WhatsApp addresses."""

    channel = CHANNEL

    def templates(self) -> dict[str, str]:
        """The approved template of each kind that has one."""
        sids = {
            "text_before_call": self.settings.whatsapp_text_before_call_content_sid,
            CHAT_NOTICE: self.settings.whatsapp_chat_reply_content_sid,
        }
        return {kind: sid for kind, sid in sids.items() if sid}

    def void_reason(self, session: Session, row: Outbox, now: datetime) -> str | None:
        """Why this row may not go on WhatsApp now (a code), or None."""
        if row.person_key and session.get(SmsOptOut, row.person_key) is not None:
            return "opted_out"
        if row.kind in TEMPLATE_ONLY:
            return None if row.kind in self.templates() else "no_whatsapp_template"
        if inside_window(session, row.person_key, now):
            return None
        if row.kind == chats.OUTBOX_KIND:
            return self._late_chat_reason(session, row)
        return "outside_whatsapp_window"

    def _late_chat_reason(self, session: Session, row: Outbox) -> str | None:
        """A worker's line after the window: only the neutral notice may go,
        and only to someone who said later texts are safe."""
        chat = chats.chat_of_outbox(session, row.id or 0)
        if chat is None or not chat.later_texts_ok:
            return "whatsapp_no_consent"
        if CHAT_NOTICE not in self.templates():
            return "no_whatsapp_template"
        return None

    def send_as(self, session: Session, row: Outbox, now: datetime) -> str:
        """The kind this row goes as (asked once `void_reason` let it go): a
        worker's line outside the window goes as the notice template."""
        if row.kind == chats.OUTBOX_KIND and not inside_window(session, row.person_key, now):
            return CHAT_NOTICE
        return row.kind

    async def send(self, address: str, text: str) -> Sent:
        """A free-form message (only inside the window: see `void_reason`)."""
        return await self._send(address, {"body": text})

    async def send_kind(self, kind: str, address: str, text: str) -> Sent:
        """A row of the outbox: its template when its kind has one, else free-form."""
        template = self.templates().get(kind)
        if template is None:
            return await self.send(address, text)
        return await self._send(address, {"content_sid": template})

    async def _send(self, address: str, content: dict[str, Any]) -> Sent:
        # Rows may hold the number as the engine knows it (+44...) or as
        # Twilio writes it (whatsapp:+44...); Twilio needs the latter, both ends.
        options = {
            "to": whatsapp_address(address),
            "from_": whatsapp_address(self.settings.whatsapp_from),
        }
        return Sent(await asyncio.to_thread(self._post, {**options, **content}, STATUS_PATH))
