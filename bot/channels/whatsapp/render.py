"""A reply as a WhatsApp message: the plain form with options as numbered lines
(typed numbers and words both work, as on SMS), in full spelling, because
WhatsApp carries any script and is not billed by segment.

The rich form is not used: it promises what only Telegram does (deleting the
chat from the phone). WhatsApp cannot delete a chat for the person, so after
EXIT the reply says how to delete it themselves and how to make messages
disappear (`channels.whatsapp_delete`).
"""

from __future__ import annotations

from bot.engine import Engine
from bot.types import Reply

EXIT_ADVICE = "channels.whatsapp_delete"


def whatsapp_text(engine: Engine, reply: Reply) -> str:
    lines = [reply.sms] + [f"{n} {option.label}" for n, option in enumerate(reply.options, 1)]
    if reply.action == "quick_exit":
        lines += ["", engine.content.text(EXIT_ADVICE, reply.locale)]
    return "\n".join(lines)
