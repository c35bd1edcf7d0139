"""The Telegram channel: a signed webhook into python-telegram-bot, replies as
HTML with inline buttons, and a quick exit that wipes the chat from the phone.

Only private chats are served. Groups, supergroups and channels get silence
and the bot leaves them; nothing of theirs is stored. Every message id of a
private chat is remembered for 48 hours so EXIT can delete the conversation
(see telegram_wipe). Each update is processed before the webhook answers.
Replies are stored with the turn before anything is sent and counted as
they go out, so a retried delivery (same update_id) sends only what did not
go the first time, and the worker finishes what neither could (a Bot API
outage, a crash mid-send): at least once, never lost. The webhook never
waits out a rate limit: what Telegram asks us to hold back is sent after
the webhook has answered (telegram_sending). A chat that floods is slowed
(sender_caps), but danger is always answered.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiolimiter import AsyncLimiter
from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from sqlalchemy.exc import DBAPIError
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.channels.render import rich_html, split_to_fit
from bot.channels.sender_caps import Capped, over_cap
from bot.channels.telegram_sending import BackgroundSender, RateLimited, retry_after
from bot.channels.telegram_wipe import remember, wipe
from bot.engine import Engine
from bot.outbox import SendDeferred, SendRefused, Sent
from bot.settings import Settings
from bot.storage.deliveries import claim_unfinished
from bot.types import Inbound, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
COMMANDS = ("start", "help", "menu", "exit", "language", "back")
MENU_COMMANDS = ("start", "help", "menu", "exit", "language")  # shown in Telegram's menu
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # a link card could show what the chat is about
# Telegram: about one message a second in one chat (short bursts pass), about
# thirty a second overall. Read when a limiter is made, so tests can go faster.
PER_CHAT_RATE = 1.0
PER_CHAT_BURST = 3
MAX_UPDATE_BYTES = 256 * 1024  # a text is at most 4096 characters; an update far less than this
JOINED = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.RESTRICTED}


def webhook_ready(settings: Settings) -> bool:
    """The webhook runs only with a token and a secret: without the secret anyone
    could post forged updates."""
    return settings.telegram_enabled and bool(settings.telegram_webhook_secret)


def quiet_libraries() -> None:
    """httpx logs request URLs (they carry the token); PTB at DEBUG logs message text."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().level))
    # A 429 is expected and handled here (sent later, logged by kind); the
    # library would log each one as an error with a traceback.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


# ----- sending limits ------------------------------------------------------
class ChatRateLimiter(AIORateLimiter):
    """PTB's limiter (about 30 a second overall, 20 a minute per group, waits out
    429 retry_after) plus about one message a second per private chat, with a
    short burst so a two- or three-part answer is not held back."""

    def __init__(self, max_retries: int = 1) -> None:
        super().__init__(max_retries=max_retries)
        self._per_chat, self._burst = PER_CHAT_RATE, PER_CHAT_BURST
        self._chats: dict[int, AsyncLimiter] = {}

    async def process_request(  # type: ignore[override]
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        forward = super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        if endpoint != "sendMessage" or not isinstance(chat_id, int) or chat_id <= 0:
            return await forward
        async with self._limiter_for(chat_id):
            return await forward

    def has_room(self, chat_id: int) -> bool:
        """Whether a message to this chat would go now, without waiting for the pace."""
        return chat_id <= 0 or self._limiter_for(chat_id).has_capacity()

    def _limiter_for(self, chat_id: int) -> AsyncLimiter:
        if len(self._chats) > 1024:  # forget chats that have been quiet
            self._chats = {k: v for k, v in self._chats.items() if not v.has_capacity(v.max_rate)}
        period = self._burst / self._per_chat
        return self._chats.setdefault(chat_id, AsyncLimiter(self._burst, period))


def api_base(settings: Settings) -> tuple[str, str] | None:
    """base_url and base_file_url for a local Bot API server, if one is configured."""
    root = settings.telegram_api_base_url.rstrip("/")
    if not root:
        return None
    root = root.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    settings: Settings, *, polling: bool = False, max_retries: int = 1
) -> Application:
    """The PTB Application: no updater for the webhook (the ASGI app feeds it),
    an updater for `frontdoor telegram poll`."""
    quiet_libraries()
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .rate_limiter(ChatRateLimiter(max_retries=max_retries))
        .concurrent_updates(True)  # the engine keeps each conversation in order
    )
    if not polling:
        builder = builder.updater(None)
    urls = api_base(settings)
    if urls is not None:
        builder = builder.base_url(urls[0]).base_file_url(urls[1])
    return builder.build()


def make_bot(settings: Settings, max_retries: int = 0) -> ExtBot:
    """A bot for one-off calls (the CLI, the worker's sender)."""
    quiet_libraries()
    urls = api_base(settings)
    extra: dict[str, Any] = {}
    if urls is not None:
        extra = {"base_url": urls[0], "base_file_url": urls[1]}
    return ExtBot(
        settings.telegram_bot_token, rate_limiter=ChatRateLimiter(max_retries=max_retries), **extra
    )


# ----- how a reply looks on Telegram ----------------------------------------
def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _pieces(reply: Reply, limit: int) -> list[str]:
    """The reply's rich text cut so each piece, as Telegram HTML, fits."""
    return split_to_fit(
        reply.rich, lambda text: _utf16(rich_html(replace(reply, rich=text))) <= limit
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.options:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(o.label, callback_data=o.id)] for o in reply.options]
    )


def telegram_messages(reply: Reply, limit: int = MAX_TEXT) -> list[tuple[str, Any]]:
    """One reply as the messages Telegram shows: HTML text, buttons on the last."""
    texts = [rich_html(replace(reply, rich=piece)) for piece in _pieces(reply, limit)]
    markup = keyboard(reply)
    return [(text, markup if n == len(texts) - 1 else None) for n, text in enumerate(texts)]


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> list[int]:
    """Send one reply; returns the ids of the messages it became."""
    ids = []
    for text, markup in telegram_messages(reply):
        try:
            message = await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as error:
            # Formatting Telegram would not take must not become silence: the
            # plain form of the whole reply instead.
            log.warning("telegram: reply refused (%s); sent as plain text", type(error).__name__)
            message = await bot.send_message(
                chat_id, reply.sms, reply_markup=keyboard(reply), link_preview_options=NO_PREVIEW
            )
            ids.append(message.message_id)
            break
        ids.append(message.message_id)
    return ids


# ----- the handlers -----------------------------------------------------------
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
        self.background = BackgroundSender(
            engine, application.bot, send_reply, lambda chat, ids: _remember_sent(engine, chat, ids)
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
        try:
            capped = await asyncio.to_thread(
                over_cap,
                self.engine,
                CHANNEL,
                str(chat_id),
                text,
                _now(),
                command=command,
                locale_hint=user.language_code if user is not None else None,
            )
        except Exception as fault:  # noqa: BLE001 - never silence: the engine answers instead
            log.error("telegram: sender cap not checked: %s", type(fault).__name__)
            return
        if capped is None:
            return
        if message is not None:
            await self._remember_incoming(update)
        await self._answer_capped(context.bot, chat_id, update.update_id, capped)
        raise ApplicationHandlerStop

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
                ids = await _send_with_retries(bot, chat_id, reply, patient=False)
            except RateLimited as limited:
                self.background.add(chat_id, None, capped.replies, n, wait=limited.wait)
                return
            if ids is None:
                self.redeliver.add(update_id)  # Telegram delivers it again
                return
            await _remember_sent(self.engine, chat_id, ids)

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
        """Remember the person's message for the wipe; False if it was seen before.
        With the database away it cannot be remembered; the message is still answered."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        try:
            added = await asyncio.to_thread(
                remember, self.engine.db, self._person(chat.id), [message.message_id], _now()
            )
        except DBAPIError:
            log.error("telegram: message id not remembered: database unavailable")
            return True
        return added > 0

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
        if update.message is not None:
            current = [update.message.message_id]
            await self._remember_incoming(update)
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
        )
        turn = await asyncio.to_thread(self.engine.handle_turn, inbound)
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
            await wipe(context.bot, self.engine.db, chat.id, self._person(chat.id), current)
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
            self.engine, context.bot, chat.id, inbound.message_id, turn.replies, start
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
            await _remember_sent(self.engine, chat_id, ids)


def _now() -> datetime:
    return datetime.now(UTC)


# ----- replies delivered at least once ---------------------------------------------
SEND_TRIES = 3  # quick tries in the webhook; the rest is left to redelivery and the worker
SEND_PAUSE = 0.5  # seconds before the second try, doubled for the third
LONGEST_WAIT = 5.0  # a longer retry_after is not waited out here


async def _remember_sent(engine: Engine, chat_id: int, ids: list[int]) -> None:
    """Reply ids of a private chat, for the EXIT wipe; never a reason to fail."""
    if chat_id <= 0 or not ids:
        return
    try:
        person = engine.vault.person_key(CHANNEL, str(chat_id))  # may load the lookup key
        await asyncio.to_thread(remember, engine.db, person, ids, _now())
    except DBAPIError:
        log.error("telegram: reply ids not remembered: database unavailable")


async def _send_with_retries(
    bot: Bot, chat_id: int, reply: Reply, *, patient: bool = True
) -> list[int] | None:
    """Send one reply, trying again briefly after a network error, a 5xx or (when
    `patient`: the worker) a short 429; None when it did not go (the caller
    leaves it for later). Not patient (a webhook), a 429 raises RateLimited."""
    pause = SEND_PAUSE
    for attempt in range(SEND_TRIES):
        try:
            return await send_reply(bot, chat_id, reply)
        except RetryAfter as error:
            wait = retry_after(error)
            if not patient:
                raise RateLimited(wait) from None
            if wait > LONGEST_WAIT:
                return None
            await asyncio.sleep(wait)
        except (Forbidden, ChatMigrated, InvalidToken, BadRequest) as error:
            # Telegram refuses for good (blocked by the person, a wrong token):
            # trying again would not help. Logged by kind only.
            log.warning("telegram: reply refused (%s)", type(error).__name__)
            return None
        except (NetworkError, TelegramError) as error:  # TimedOut is a NetworkError
            log.warning("telegram: reply not sent, try %d (%s)", attempt + 1, type(error).__name__)
            if attempt + 1 < SEND_TRIES:
                await asyncio.sleep(pause)
                pause *= 2
    return None


async def deliver(
    engine: Engine, bot: Bot, chat_id: int, message_id: str, replies: list[Reply], start: int
) -> int:
    """Send replies[start:] in order, recording each one sent; stop at the first
    that cannot go, so nothing arrives out of order. Returns how many are sent."""
    sent = start
    for reply in replies[start:]:
        ids = await _send_with_retries(bot, chat_id, reply)
        if ids is None:
            break
        await _remember_sent(engine, chat_id, ids)
        sent += 1
        await asyncio.to_thread(engine.mark_delivered, CHANNEL, message_id, sent)
    return sent


async def deliver_now(
    engine: Engine, bot: Bot, chat_id: int, message_id: str, replies: list[Reply], start: int
) -> tuple[int, float | None]:
    """The webhook's part: send replies[start:] in order while no rate limit
    stands in the way. Returns how many are sent and, when a rate limit (a 429,
    or the chat's own pace) stopped it, how long to wait before the rest."""
    limiter = getattr(bot, "rate_limiter", None)
    sent = start
    for reply in replies[start:]:
        if isinstance(limiter, ChatRateLimiter) and not limiter.has_room(chat_id):
            return sent, 0.0  # the chat's pace would hold the webhook: the rest waits its turn
        try:
            ids = await _send_with_retries(bot, chat_id, reply, patient=False)
        except RateLimited as limited:
            return sent, limited.wait
        if ids is None:
            return sent, None
        await _remember_sent(engine, chat_id, ids)
        sent += 1
        await asyncio.to_thread(engine.mark_delivered, CHANNEL, message_id, sent)
    return sent, None


async def finish_unfinished(engine: Engine, now: datetime | None = None) -> int:
    """The worker's part: send what webhooks could not (a Bot API outage, a process
    killed mid-send). Returns how many replies went out."""
    unfinished = await asyncio.to_thread(
        claim_unfinished, engine.db, engine.vault, CHANNEL, now or _now()
    )
    if not unfinished:
        return 0
    total = 0
    async with make_bot(engine.settings) as bot:
        for turn in unfinished:
            try:
                chat_id = int(turn.address)
            except ValueError:
                continue
            done = await deliver(
                engine, bot, chat_id, turn.provider_id, turn.replies, turn.delivered
            )
            total += done - turn.delivered
    return total


# ----- the webhook --------------------------------------------------------------
router = APIRouter(tags=["telegram"])


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def webhook(request: Request) -> Response:
    """Telegram's signed delivery of one update; processed before the 200."""
    settings: Settings = request.app.state.engine.settings
    secret = settings.telegram_webhook_secret.encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not secret or not hmac.compare_digest(given, secret):
        raise HTTPException(status_code=403)
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None or not await channel.ready():
        raise HTTPException(status_code=503)  # Telegram delivers it again later
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
        raise HTTPException(status_code=413)
    body = await request.body()
    if len(body) > MAX_UPDATE_BYTES:
        raise HTTPException(status_code=413)  # no real update is near this size
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        update = Update.de_json(data, channel.application.bot)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        log.warning("telegram webhook: unreadable update (%s)", type(error).__name__)
        raise HTTPException(status_code=400) from None
    await channel.application.process_update(update)
    if update.update_id in channel.redeliver:
        channel.redeliver.discard(update.update_id)
        raise HTTPException(status_code=503)  # not finished: Telegram delivers it again
    return Response(status_code=200)


@asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Start the channel with the app when it has credentials; say so in one line."""
    if not webhook_ready(settings):
        log.info("Telegram channel off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET")
        yield
        return
    # No retries inside the library: it would sleep out a 429 in the webhook.
    channel = TelegramChannel(app.state.engine, build_application(settings, max_retries=0))
    app.state.telegram = channel
    log.info("Telegram channel on at %s", WEBHOOK_PATH)
    await channel.ready()  # if the Bot API is away, the first update tries again
    try:
        yield
    finally:
        app.state.telegram = None
        await channel.close()


# ----- the worker's sender ----------------------------------------------------
def _surely_not_sent(error: NetworkError) -> bool:
    """A connection that never opened (or a full pool) sent nothing."""
    import httpx

    cause = error.__cause__
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class TelegramSender:
    """The outbox's way to Telegram: staff notices and any message a person agreed to.

    A message to a person's private chat is remembered for the EXIT wipe.
    """

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._remember: tuple[Any, Any] | None = None

    def _memory(self) -> tuple[Any, Any]:
        if self._remember is None:
            from bot.storage.db import Database
            from bot.storage.keys import open_vault

            db = Database(self.settings.sqlalchemy_url)
            self._remember = (db, open_vault(self.settings, db))
        return self._remember

    async def send(self, address: str, text: str) -> Sent:
        try:
            chat_id = int(address)
        except ValueError:
            raise SendRefused("bad_chat_id") from None
        try:
            async with make_bot(self.settings) as bot:
                message = await bot.send_message(chat_id, text, link_preview_options=NO_PREVIEW)
        except RetryAfter as error:
            raise SendDeferred("429", retry_after(error)) from None
        except TimedOut:
            raise  # it may have gone: the outbox never sends it again
        except (Forbidden, ChatMigrated) as error:
            raise SendRefused(type(error).__name__[:20]) from None
        except BadRequest:
            raise SendRefused("400") from None
        except InvalidToken:
            raise SendDeferred("401") from None
        except NetworkError as error:
            if _surely_not_sent(error):
                raise SendDeferred("network") from None
            raise
        if chat_id > 0:
            db, vault = self._memory()
            person = vault.person_key(CHANNEL, str(chat_id))
            await asyncio.to_thread(remember, db, person, [message.message_id], _now())
        return Sent(provider_id=str(message.message_id))
