"""The engine behind a PTB Application: the same handlers serve the webhook and
`frontdoor telegram poll`. Only private chats are served; a chat that floods
is slowed (sender_caps), but danger is always answered.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError
from telegram import (
    Bot,
    Update,
)
from telegram.constants import ChatType
from telegram.error import (
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.channels.sender_caps import Capped, over_cap
from bot.channels.telegram.background import BackgroundSender, RateLimited
from bot.channels.telegram.inbound import (
    CHANNEL,
    COMMANDS,
    JOINED,
)
from bot.channels.telegram.send import deliver_now, remember_sent, send_reply, send_with_retries
from bot.channels.telegram.wipe import remember, wipe
from bot.engine import Engine, Turn
from bot.types import Inbound, Reply

log = logging.getLogger(__name__)


class TelegramChannel:
    """The engine behind a PTB Application: the same handlers serve the webhook
    and `frontdoor telegram poll`."""

    def __init__(self, engine: Engine, application: Application) -> None:
        self.engine = engine
        self.application = application
        self._ready = False
        # Updates to be delivered again (the webhook answers 503): those handled
        # from memory while the database was away, and those whose replies did
        # not all go out. The person is told "please try again" once per update.
        self.redeliver: set[int] = set()
        self._told: set[int] = set()
        # The sender's person key made by the flood gate, by update id, for the
        # handler that runs next: one keyed hash per message (see `_key_of`).
        self._keys: dict[int, str] = {}
        self.background = BackgroundSender(
            engine, application.bot, send_reply, lambda chat, ids: remember_sent(engine, chat, ids)
        )
        application.add_handler(TypeHandler(Update, self._gate), group=-1)
        private = filters.ChatType.PRIVATE
        for handler in (
            CallbackQueryHandler(self._on_button),
            MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, self._on_edited),
            CommandHandler(COMMANDS, self._on_command, filters.UpdateType.MESSAGE & private),
            MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & private, self._on_text),
            MessageHandler(
                filters.UpdateType.MESSAGE & filters.StatusUpdate.ALL & private, self._on_service
            ),
            MessageHandler(filters.UpdateType.MESSAGE & private, self._on_not_text),
        ):
            application.add_handler(handler)
        application.add_error_handler(self._on_error)

    # ----- life cycle ------------------------------------------------------
    async def ready(self) -> bool:
        """Initialise once (it asks the Bot API who we are); False while it cannot."""
        if self._ready:
            return True
        try:
            await self.application.initialize()
            await self.application.start()
        except (TelegramError, OSError) as error:
            log.warning("Telegram Bot API not reachable (%s); will try again", type(error).__name__)
            return False
        self._ready = True
        return True

    async def close(self) -> None:
        await self.background.close()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    # ----- what comes in -----------------------------------------------------
    async def _gate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Private chats with people only; leave anywhere else in silence."""
        member = update.my_chat_member
        if member is not None:
            if member.chat.type != ChatType.PRIVATE and member.new_chat_member.status in JOINED:
                await self._leave(context.bot, member.chat.id)
            raise ApplicationHandlerStop
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            raise ApplicationHandlerStop
        if chat.type != ChatType.PRIVATE:
            await self._leave(context.bot, chat.id)
            raise ApplicationHandlerStop
        if user.is_bot:
            raise ApplicationHandlerStop
        await self._slow_a_flood(update, context, chat.id)

    async def _slow_a_flood(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int
    ) -> None:
        """Count the message; past the sender cap it is not run, only remembered for
        the wipe and answered with the one calm notice or the emergency guidance."""
        message = update.message or update.edited_message
        text = (message.text or message.caption or "") if message is not None else ""
        command = None
        if message is not None and message.text and message.text.startswith("/"):
            command = message.text.split()[0][1:].split("@")[0].lower()
        user = update.effective_user
        hint = user.language_code if user is not None else None
        try:
            person, capped = await asyncio.to_thread(self._count, chat_id, text, command, hint)
        except Exception as fault:  # noqa: BLE001 - never silence: the engine answers instead
            log.error("telegram: sender cap not checked: %s", type(fault).__name__)
            return
        if len(self._keys) > 10_000:  # updates no handler took (none should be left)
            self._keys.clear()
        self._keys[update.update_id] = person
        if capped is None:
            return
        if message is not None:
            await self._remember_incoming(update)
        self._keys.pop(update.update_id, None)  # no other handler runs for this update
        await self._answer_capped(context.bot, chat_id, update.update_id, capped)
        raise ApplicationHandlerStop

    def _count(
        self, chat_id: int, text: str, command: str | None, hint: str | None
    ) -> tuple[str, Capped | None]:
        """In a worker thread: the sender's person key (it may load the lookup key),
        and the message counted against the sender cap with it."""
        person = self._person(chat_id)
        capped = over_cap(
            self.engine,
            CHANNEL,
            str(chat_id),
            text,
            _now(),
            command=command,
            locale_hint=hint,
            person=person,
        )
        return person, capped

    def _key_of(self, update: Update) -> str | None:
        """The person key the flood gate made for this update, taken once."""
        return self._keys.pop(update.update_id, None)

    async def _answer_capped(self, bot: Bot, chat_id: int, update_id: int, capped: Capped) -> None:
        """The notice goes once, best effort; the emergency guidance at least once:
        after a rate limit from the background, after a failure by redelivery."""
        if not capped.urgent:
            await self._send(bot, chat_id, capped.replies)
            return
        if self.background.busy(chat_id):
            self.background.add(chat_id, None, capped.replies, 0, wait=0)
            return
        for n, reply in enumerate(capped.replies):
            try:
                ids = await send_with_retries(bot, chat_id, reply, patient=False)
            except RateLimited as limited:
                self.background.add(chat_id, None, capped.replies, n, wait=limited.wait)
                return
            if ids is None:
                self.redeliver.add(update_id)  # Telegram delivers it again
                return
            await remember_sent(self.engine, chat_id, ids)

    async def _leave(self, bot: Bot, chat_id: int) -> None:
        try:
            await bot.leave_chat(chat_id)
        except TelegramError as error:
            log.warning("telegram: could not leave a group (%s)", type(error).__name__)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None and message.text is not None
        await self._converse(update, context, message.text, received_at=message.date)

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        assert message is not None and message.text is not None
        word = message.text.split()[0][1:].split("@")[0].lower()
        await self._converse(update, context, message.text, command=word, received_at=message.date)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()  # stop the spinner on the button
        except TelegramError as error:
            log.warning("telegram: callback not answered (%s)", type(error).__name__)
        if query.message is not None:
            try:  # old buttons cannot be pressed twice
                await context.bot.edit_message_reply_markup(
                    query.message.chat.id, query.message.message_id, reply_markup=None
                )
            except TelegramError as error:
                log.info("telegram: buttons not removed (%s)", type(error).__name__)
        await self._converse(
            update, context, "", choice=query.data or "", received_at=datetime.now(UTC)
        )

    async def _on_not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo, sticker, voice note...: say only text is read; keep only its id."""
        if await self._remember_incoming(update):
            await self._notice(update, context, "channels.only_text")

    async def _on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._remember_incoming(update)
        await self._notice(update, context, "channels.edited")

    async def _on_service(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A service line in the chat (e.g. a pinned message): nothing to say, but
        it is on the phone, so EXIT deletes it too."""
        await self._remember_incoming(update)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %s", type(context.error).__name__)

    # ----- the conversation ----------------------------------------------------
    def _person(self, chat_id: int) -> str:
        return self.engine.vault.person_key(CHANNEL, str(chat_id))

    async def _remember_incoming(self, update: Update) -> bool:
        """Remember the person's message for the wipe; False if it was seen before."""
        added, _person = await self._take_in(update)
        return added

    async def _take_in(self, update: Update) -> tuple[bool, str | None]:
        """Remember the person's message for the wipe: whether it is new, and the
        sender's person key, made here once for the whole message. With the
        database away it cannot be remembered (None); it is still answered."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        known = self._key_of(update)
        try:
            person, added = await asyncio.to_thread(
                self._remember, chat.id, message.message_id, known
            )
        except DBAPIError:
            log.error("telegram: message id not remembered: database unavailable")
            return True, None
        return added > 0, person

    def _remember(self, chat_id: int, message_id: int, known: str | None) -> tuple[str, int]:
        """In a worker thread: making the key may load the lookup key."""
        person = known or self._person(chat_id)
        return person, remember(self.engine.db, person, [message_id], _now())

    def _handle(self, inbound: Inbound, chat_id: int, make_key: bool) -> tuple[str | None, Turn]:
        """In a worker thread: the turn, with the sender's person key made once for
        it and for what follows (deliveries, the wipe); None if it could not be made.
        `make_key` is False when taking the message in already tried to make it."""
        if inbound.person_key is None and make_key:
            with suppress(Exception):  # e.g. the database away: the engine meets it and answers
                inbound = replace(inbound, person_key=self._person(chat_id))
        return inbound.person_key, self.engine.handle_turn(inbound)

    async def _notice(self, update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None and user is not None
        reply = await asyncio.to_thread(
            self.engine.notice, CHANNEL, str(chat.id), key, user.language_code
        )
        await self._send(context.bot, chat.id, [reply])

    async def _converse(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        text: str,
        *,
        received_at: datetime,
        choice: str | None = None,
        command: str | None = None,
    ) -> None:
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None and user is not None
        current: list[int] = []
        person: str | None = None
        if update.message is not None:
            current = [update.message.message_id]
            _added, person = await self._take_in(update)
        else:  # a button press: nothing to remember for the wipe
            person = self._key_of(update)
        inbound = Inbound(
            channel=CHANNEL,
            address=str(chat.id),
            text=text,
            message_id=f"{context.bot.id}:{update.update_id}",
            received_at=received_at,
            choice=choice,
            address_is_phone=False,
            locale_hint=user.language_code,
            command=command,
            sent_by_channel=True,
            person_key=person,
        )
        person, turn = await asyncio.to_thread(
            self._handle, inbound, chat.id, update.message is None
        )
        if turn.transient:
            self.redeliver.add(update.update_id)
            if update.update_id in self._told:
                return  # told once already; the redelivery after the outage answers
            self._told.add(update.update_id)
            if len(self._told) > 10_000:
                self._told.clear()
        if any(r.action == "quick_exit" for r in turn.replies):
            # Nothing is sent: the chat disappears from the phone instead, and
            # replies still waiting out a rate limit never go.
            await self.background.drop(chat.id)
            await wipe(
                context.bot, self.engine.db, chat.id, person or self._person(chat.id), current
            )
            if not turn.transient:
                await asyncio.to_thread(
                    self.engine.mark_delivered, CHANNEL, inbound.message_id, len(turn.replies)
                )
            return
        if turn.transient:
            await self._send(context.bot, chat.id, turn.replies)  # from memory, nothing stored
            return
        # A repeated delivery sends only what did not go out the first time.
        start = turn.delivered if turn.replayed else 0
        if start >= len(turn.replies) or self.background.holds(inbound.message_id):
            return
        if self.background.busy(chat.id):  # earlier replies are waiting: these go after
            self.background.add(chat.id, inbound.message_id, turn.replies, start, wait=0)
            return
        sent, wait = await deliver_now(
            self.engine, context.bot, chat.id, inbound.message_id, turn.replies, start, person
        )
        if sent >= len(turn.replies):
            return
        if wait is not None:  # a rate limit: the rest goes after the webhook has answered
            self.background.add(chat.id, inbound.message_id, turn.replies, sent, wait=wait)
        else:
            self.redeliver.add(update.update_id)  # Telegram's next try sends the rest

    async def _send(self, bot: Bot, chat_id: int, replies: list[Reply]) -> None:
        """Send replies that are not part of a stored turn (notices, outage answers)."""
        for reply in replies:
            try:
                ids = await send_reply(bot, chat_id, reply)
            except TelegramError as error:
                log.warning("telegram: notice not sent (%s)", type(error).__name__)
                return
            await remember_sent(self.engine, chat_id, ids)


def _now() -> datetime:
    return datetime.now(UTC)
