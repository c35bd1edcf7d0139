"""The conversation engine: one inbound message in, a list of replies out.

For each message, in one transaction: lock the person's conversation, let the
safety screen (bot/safety) read any typed text first (danger, crisis, a child,
risk of harming: answered at once, in the language it was written in), check
the words that work everywhere (EXIT, then the inactivity timeout, then MY
REQUEST to the code-word gate, MENU, BACK, HELP, LANGUAGE), otherwise hand the message to the
current flow's Machine (what an answer means at a step is read in
bot/flows/answering.py), follow any hand-over to another flow, and store the
new state with the answer under the provider's message id. A repeated id
rolls back and returns the stored answer, so retries change nothing. A
channel's `TurnHooks` do its own storage work (opt-outs, flood counts,
delivery records) in that same transaction, without the engine knowing it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from bot.content.model import Content
from bot.conversation_state import ConversationState
from bot.dialogue import Dialogue, Facts
from bot.error_reporting import report_current_exception
from bot.flows import build_flows, live_chat, my_request
from bot.flows.answering import Answering
from bot.flows.base import Ask, Choice, Flow
from bot.global_words import GlobalWords
from bot.notices import notify_code_word_lock, notify_staff
from bot.safety import NOTHING, Screening, shared_screen
from bot.safety.language import detect
from bot.services import Services
from bot.settings import Settings, get_settings
from bot.storage import binding, figures
from bot.storage.chats import PersonChats
from bot.storage.db import Database, id_of, utc
from bot.storage.deliveries import mark_delivered
from bot.storage.models import CallbackRequest, Conversation, HandledMessage
from bot.storage.replays import record_handled
from bot.storage.request_access import RequestAccess
from bot.storage.requests import RequestStore
from bot.text import normalise
from bot.types import Inbound, Reply
from bot.web.metrics import count_message

log = logging.getLogger(__name__)

NEW = ("first_contact", "new")


def _log_failure(what: str) -> None:
    """Log where it failed, never the exception's text: it could quote a person's message."""
    kind, _error, trace = sys.exc_info()
    frames = "".join(traceback.format_tb(trace)) if trace else ""
    log.error("%s: %s\n%s", what, kind.__name__ if kind else "unknown", frames)
    report_current_exception()


@dataclass
class Location:
    flow: str
    state: str

    def __str__(self) -> str:
        return f"{self.flow}:{self.state}"

    @classmethod
    def parse(cls, text: str) -> Location:
        flow, _, state = text.partition(":")
        return cls(flow, state)


@dataclass(frozen=True, slots=True)
class Turn:
    """The answer to one inbound message. `replayed` is True when the provider
    delivered the same message again and the stored answer is returned, so a
    channel that sends replies itself (Telegram) can avoid sending them twice."""

    replies: list[Reply]
    replayed: bool = False
    delivered: int = 0  # on a replay: how many of the replies were already sent
    # True when storage was away: the replies were made from memory and nothing
    # was stored, so a provider that delivers again (Telegram) gets the message
    # handled properly once the database is back.
    transient: bool = False
    failed: bool = False  # handling failed; the calm "please send again" was given
    # Answered by the channel's `before` hook (an opt-out, a flood), not the conversation.
    outside: bool = False


@dataclass(frozen=True, slots=True)
class TurnHooks:
    """A channel's work inside the turn's own transaction, so one message costs one
    transaction. `before(session, person_key)` runs first: replies from it are the
    whole answer and the conversation is not touched. `after(session, person_key,
    replies)` runs just before the commit (delivery records, the id's record)."""

    before: Callable[[Session, str], list[Reply] | None] | None = None
    after: Callable[[Session, str, list[Reply]], None] | None = None


def _outcome(turn: Turn) -> str:
    """The metrics outcome of one turn (bot/web/metrics.py)."""
    if turn.failed:
        return "failed"
    if turn.transient:
        return "outage"
    return "replayed" if turn.replayed else "answered"


class Engine:
    """Runs conversations on the app's services (bot/services.py).

    `Engine(services)` takes them as built once at start-up; `Engine()` or
    `Engine(settings=..., content=..., database=...)` builds them here with
    `Services.build`, for the command line and tests."""

    def __init__(
        self,
        services: Services | None = None,
        *,
        settings: Settings | None = None,
        content: Content | None = None,
        database: Database | None = None,
    ) -> None:
        if services is None:
            services = Services.build(settings or get_settings(), content, database)
        elif settings is not None or content is not None or database is not None:
            raise TypeError("give the services, or what to build them from, not both")
        self.services = services
        self.settings, self.content = services.settings, services.content
        self.db, self.vault = services.db, services.vault
        self.locales = self.settings.locales
        self.flows: dict[str, Flow] = build_flows(self.content, self.locales)
        self.answering = Answering(self.content, self.flows)
        self.words = GlobalWords(self.content, self.locales)
        self.screen = shared_screen(self.settings.content_dir / "safety", tuple(self.locales))
        self.timeout = timedelta(minutes=self.settings.inactivity_timeout_minutes)

    # ----- the transaction around one message ----------------------------
    def handle(self, inbound: Inbound) -> list[Reply]:
        return self.handle_turn(inbound).replies

    def handle_turn(self, inbound: Inbound, hooks: TurnHooks | None = None) -> Turn:
        turn = self._turn(inbound, hooks or TurnHooks())
        if not turn.outside:
            count_message(inbound.channel, _outcome(turn))
        return turn

    def _turn(self, inbound: Inbound, hooks: TurnHooks) -> Turn:
        try:
            return self._handle_once(inbound, hooks)
        except IntegrityError:
            try:
                replayed = self._replay(inbound)
            except DBAPIError:
                _log_failure("database unavailable")
                return Turn(self.outage_replies(inbound.text, inbound.locale_hint), transient=True)
            if replayed is not None:
                return Turn(replayed[0], replayed=True, delivered=replayed[1])
            _log_failure("could not store a message")
        except DBAPIError:
            _log_failure("database unavailable")
            return Turn(self.outage_replies(inbound.text, inbound.locale_hint), transient=True)
        except Exception:  # noqa: BLE001 - a person must never meet a stack trace or silence
            _log_failure("message handling failed")
        return Turn(self.failure_replies(inbound.text, inbound.locale_hint), failed=True)

    def error_reply(self, locale_hint: str | None = None) -> Reply:
        """The calm "please send that again; in danger call 999" reply."""
        return self.content.reply("words.error", self.locale_for(locale_hint), options=[])

    def _memory_locale(self, text: str | None, locale_hint: str | None) -> tuple[str, bool]:
        """The language to answer in without the database, and whether the
        message reads as danger now: both from the safety screen alone."""
        screening = self.screen.read(text or "", None)
        language = screening.language
        if language is None and (text or "").strip():
            language = detect(text or "", tuple(self.locales))
        locale = language if language in self.locales else self.locale_for(locale_hint)
        return locale, screening.has("danger_now")

    def failure_replies(self, text: str | None, locale_hint: str | None = None) -> list[Reply]:
        """A fault while handling one message: emergency guidance first if it reads
        as danger, then "please send that again"."""
        locale, danger = self._memory_locale(text, locale_hint)
        first = [self.content.reply("words.danger", locale, options=[])] if danger else []
        return [*first, self.content.reply("words.error", locale, options=[])]

    def outage_replies(self, text: str | None, locale_hint: str | None = None) -> list[Reply]:
        """The database is away: the emergency guidance and "please text again in a
        few minutes", made from content already in memory, in the message's language."""
        locale, _danger = self._memory_locale(text, locale_hint)
        return [
            self.content.reply("words.danger", locale, options=[]),
            self.content.reply("words.outage", locale, options=[]),
        ]

    def notice(self, channel: str, address: str, key: str, locale_hint: str | None = None) -> Reply:
        """A reply outside the conversation (e.g. "I can only read text") in the
        person's language. It reads the conversation's locale and changes nothing."""
        try:
            person = self.vault.person_key(channel, address)  # may load the lookup key
            with self.db.session() as session:
                reply = self.notice_in(session, person, key, locale_hint)
                session.commit()
            return reply
        except DBAPIError:
            _log_failure("database unavailable")  # the notice still goes, in the hinted language
            return self.content.reply(key, self.locale_for(locale_hint), options=[])

    def notice_in(
        self, session: Session, person: str, key: str, locale_hint: str | None = None
    ) -> Reply:
        """`notice` inside a transaction already open (a channel's turn hook)."""
        locale = session.execute(
            select(col(Conversation.locale)).where(col(Conversation.person_key) == person)
        ).scalar_one_or_none()
        if locale not in self.locales:
            locale = self.locale_for(locale_hint)
        return self.content.reply(key, locale, options=[])

    def locale_for(self, hint: str | None) -> str:
        """A shipped locale for a hint such as Telegram's "pt-br", else the default."""
        base = (hint or "").split("-")[0].lower()
        return base if base in self.locales else self.settings.default_locale

    def _person(self, inbound: Inbound) -> str:
        """The sender's person key: the channel's, when it already made it for this
        message (one keyed hash per message), else made here."""
        return inbound.person_key or self.vault.person_key(inbound.channel, inbound.address)

    def _replay(self, inbound: Inbound) -> tuple[list[Reply], int] | None:
        """The stored answer to a repeated message id, only ever to the same person,
        and how many of its replies were sent."""
        person = self._person(inbound)
        with self.db.session() as session:
            row = session.execute(
                select(
                    col(HandledMessage.replies_enc),
                    col(HandledMessage.delivered),
                    col(Conversation.person_key),
                )
                .join(Conversation, col(Conversation.id) == col(HandledMessage.conversation_id))
                .where(col(HandledMessage.channel) == inbound.channel)
                .where(col(HandledMessage.provider_id) == inbound.message_id)
            ).first()
            session.commit()
        if row is None or row.person_key != person:
            return None
        context = binding.handled_replies(inbound.channel, inbound.message_id)
        sealed = self.vault.open(row.replies_enc, context)
        return [Reply.from_json(r) for r in sealed], row.delivered

    def mark_delivered(self, channel: str, message_id: str, count: int) -> None:
        """A channel that sends itself confirms `count` replies of a turn sent."""
        try:
            mark_delivered(self.db, channel, message_id, count)
        except DBAPIError:
            _log_failure("delivery not recorded")

    def request_store(
        self, session: Session, person: str, channel: str, now: datetime
    ) -> RequestStore:
        """One person's callback requests; a new urgent one also queues the staff notice."""
        return RequestStore(
            session,
            self.vault,
            person,
            channel,
            now,
            self.settings.retention_days,
            self.services.reference_prefix,
            self.services.teams,
            on_create=self._notify_staff,
            urgent_priority=self.settings.urgent_priority,
        )

    def request_access(
        self, session: Session, person: str, channel: str, now: datetime
    ) -> RequestAccess:
        """The code-word gate for one sender; a lock-out is audited and announced."""
        return RequestAccess(
            session,
            self.vault,
            person,
            channel,
            now,
            tries=self.settings.code_word_tries,
            lock_minutes=self.settings.code_word_lock_minutes,
            on_lock=self._notify_lock,
            urgent_priority=self.settings.urgent_priority,
        )

    def _notify_lock(self, session: Session, request: CallbackRequest, now: datetime) -> None:
        notify_code_word_lock(session, self.vault, self.settings, request, now)

    def _notify_staff(self, session: Session, request: CallbackRequest, now: datetime) -> None:
        notify_staff(session, self.vault, self.settings, request, now)

    def _handle_once(self, inbound: Inbound, hooks: TurnHooks) -> Turn:
        now = utc(inbound.received_at)
        person = self._person(inbound)
        with self.db.session() as session:
            early = hooks.before(session, person) if hooks.before is not None else None
            if early is not None:
                if hooks.after is not None:
                    hooks.after(session, person, early)
                session.commit()
                return Turn(early, outside=True)
            conversation, created = self.db.lock_conversation(
                session,
                person,
                {
                    "channel": inbound.channel,
                    "flow": NEW[0],
                    "state": NEW[1],
                    "slots_enc": self.vault.seal(
                        ConversationState().to_json(), binding.conversation_slots(person)
                    ),
                    "locale": self.locale_for(inbound.locale_hint),
                    "last_activity": now,
                    "created_at": now,
                },
            )
            requests = self.request_store(session, person, inbound.channel, now)
            dialogue = Dialogue(
                conversation.flow,
                conversation.state,
                ConversationState.from_json(
                    self.vault.open(conversation.slots_enc, binding.conversation_slots(person))
                ),
                conversation.locale if conversation.locale in self.locales else "en",
                self.content,
                Facts(
                    sender_is_phone=inbound.address_is_phone,
                    sender_address=inbound.address,
                    now=now,
                    retention_days=self.settings.retention_days,
                    shipped_locales=self.locales,
                    urgent_priority=self.settings.urgent_priority,
                ),
                requests,
                access=self.request_access(session, person, inbound.channel, now),
                chats=PersonChats(
                    session, self.vault, person, inbound.channel, inbound.address, now
                ),
            )
            idle = now - utc(conversation.last_activity)
            timed_out = not created and idle > self.timeout
            started = created or timed_out or (conversation.flow, conversation.state) == NEW
            audience = dialogue.audience
            self.converse(dialogue, inbound, timed_out=timed_out)
            self._count_figures(session, inbound.channel, dialogue, started, audience, now)
            self.db.save_conversation(
                session,
                id_of(conversation),
                flow=dialogue.flow,
                state=dialogue.state,
                locale=dialogue.locale,
                slots_enc=self.vault.seal(
                    dialogue.memory.to_json(), binding.conversation_slots(person)
                ),
                last_activity=now,
            )
            record_handled(
                session,
                channel=inbound.channel,
                provider_id=inbound.message_id,
                conversation_id=id_of(conversation),
                replies_enc=self.vault.seal(
                    [r.to_json() for r in dialogue.replies],
                    binding.handled_replies(inbound.channel, inbound.message_id),
                ),
                handled_at=now,
                reply_count=len(dialogue.replies),
                address_enc=(
                    self.vault.seal(
                        inbound.address,
                        binding.handled_address(inbound.channel, inbound.message_id),
                    )
                    if inbound.sent_by_channel
                    else None
                ),
            )
            if hooks.after is not None:
                hooks.after(session, person, dialogue.replies)
            session.commit()
        return Turn(dialogue.replies)

    def _count_figures(
        self,
        session: Session,
        channel: str,
        d: Dialogue,
        started: bool,
        audience: str | None,
        now: datetime,
    ) -> None:
        """Anonymous counts for the figures (bot/storage/figures.py), in this
        transaction: a conversation started, the route chosen, the emergency
        guidance, a signal's reply and a quick exit. Codes only, never words."""
        if started:
            figures.count(session, "conversation_started", now, channel=channel, language=d.locale)
        if d.audience and d.audience != audience:
            figures.count(session, "route_chosen", now, channel=channel, route=d.audience)
        keys = {reply.key for reply in d.replies}
        if "words.danger" in keys:
            figures.count(session, "emergency_guidance", now, channel=channel)
        for signal in ("crisis", "child", "harm_risk"):
            if f"signals.{signal}" in keys:
                figures.count(session, "safety_reply", now, channel=channel, signal=signal)
        if any(reply.action == "quick_exit" for reply in d.replies):
            figures.count(session, "quick_exit", now, channel=channel)

    # ----- what the message means -----------------------------------------
    def converse(self, d: Dialogue, inbound: Inbound, timed_out: bool) -> None:
        said = normalise(inbound.text or "")
        command = inbound.command or (self.words.command(said) if inbound.choice is None else None)
        typed = inbound.choice is None and inbound.command is None  # not a button, not /menu
        # A request reference ("FD-SHER") is read as letters by the screen, never
        # as a disclosure: it is taken out first, and everything else is read.
        unreferenced = self.words.mask_reference(inbound.text or "")
        screening = self.screen.read(unreferenced, d.locale) if typed else NOTHING
        if screening.codes:
            self._remember(d, screening)
        if live_chat.stepping_back(d, timed_out):
            self._step_back(d, inbound, command, typed, screening)
            return
        if screening.signals:
            self._answer_signals(d, inbound, said, screening, timed_out)
            return
        if command == "exit":
            if d.chats is not None:  # EXIT ends everything: a message left waiting too
                d.chats.end_left("exit", drop_unsent=True)
            self._reset(d)
            d.say("words.exit", action="quick_exit")
            return
        if timed_out and (d.flow, d.state) != NEW:
            self._reset(d)
            d.say("words.timed_out")
            self._go(d, Location("first_contact", "safe_to_text"))
            return
        if command == "my_request":
            self._my_request(d, inbound, said)
            return
        if (d.flow, d.state) == NEW:
            self._begin(d, command)
            return
        if command == "start":  # e.g. Telegram's /start mid-conversation: carry on
            self.answering.reprompt(d)
            return
        if command in ("menu", "back", "help", "language"):
            self._command(d, command)
            return
        self._answer(d, inbound, said, command == "skip")

    # ----- what the safety screen found ----------------------------------
    def _remember(self, d: Dialogue, screening: Screening) -> None:
        """Keep the codes (never the words) for a callback request; an open
        request gets them at once, and a signal makes it urgent."""
        d.memory.safety = sorted(set(d.memory.safety) | set(screening.codes))
        d.requests.flag(screening.codes, d.facts.urgent_priority)

    def _answer_signals(
        self, d: Dialogue, inbound: Inbound, said: str, screening: Screening, timed_out: bool
    ) -> None:
        """Emergency guidance first, then the one reply the signal needs, in the
        language the message was written in; a free-text answer is still kept."""
        language = screening.language if screening.language in self.locales else d.locale
        fresh = (d.flow, d.state) == NEW or timed_out
        if fresh:
            codes = d.memory.safety
            self._reset(d)
            d.memory.safety = codes
            d.locale = language
        if screening.has("danger_now"):
            d.replies.append(self.content.reply("words.danger", language, options=[]))
        follow = screening.follow_up
        if fresh:
            if follow:
                self._go(d, Location("support", follow))
            return
        step = self.answering.step(d)
        if step.keeps_disclosure and isinstance(step, Ask):
            if follow:
                d.replies.append(self.content.reply(f"signals.{follow}", language, options=[]))
            self._answer(d, inbound, said, skip=False)
            return
        if follow and d.flow != "callback":
            self._push(d, Location(d.flow, d.state))
            self._go(d, Location("support", follow))
            return
        if follow:
            d.replies.append(self.content.reply(f"signals.{follow}", language, options=[]))
        d.say("signals.were_asking")
        self.answering.reprompt(d)

    def _step_back(
        self, d: Dialogue, inbound: Inbound, command: str | None, typed: bool, screening: Screening
    ) -> None:
        """A live chat waits or is open, or a message left for a worker waits or
        was answered: the bot steps back (bot/flows/live_chat.py). The safety
        screen's replies still come first, in the message's language."""
        language = screening.language if screening.language in self.locales else d.locale
        answered = ["words.danger"] if screening.has("danger_now") else []
        if screening.follow_up:
            answered.append(f"signals.{screening.follow_up}")
        d.replies.extend(self.content.reply(key, language, options=[]) for key in answered)
        text = inbound.text or ""
        leaving = live_chat.turn(d, text, command, inbound.choice, typed, screening.codes, answered)
        if leaving == "exit":
            self._reset(d)
            d.say("words.exit", action="quick_exit")
        elif leaving == "menu":
            d.forget_flow(live_chat.NAME)
            self._follow(d, "@menu")

    def _my_request(self, d: Dialogue, inbound: Inbound, said: str) -> None:
        """The words "my request", "status", "cancel FD-7KQ2" lead to the code-word gate;
        inside an opened request the same words answer its question ("cancel")."""
        if d.flow == my_request.NAME and isinstance(self.answering.step(d), Choice):
            self._answer(d, inbound, said, skip=False)
            return
        if (d.flow, d.state) == NEW:
            d.say("first_contact.greeting")  # says how to leave (EXIT) first
        else:
            self._push(d, Location(d.flow, d.state))
        my_request.begin(d, self.words.reference(said))
        self._follow(d, f"@{my_request.NAME}")

    def _begin(self, d: Dialogue, command: str | None) -> None:
        if command == "language":
            self._push(d, Location("first_contact", "safe_to_text"))
            self._go(d, Location("language", "choose"))
            return
        if command == "help":
            d.say("words.help")
        d.say("first_contact.greeting")
        self._go(d, Location("first_contact", "safe_to_text"))

    def _command(self, d: Dialogue, command: str) -> None:
        here = Location(d.flow, d.state)
        if command == "menu":
            self._push(d, here)
            self._follow(d, "@menu")
        elif command == "back":
            history = d.memory.history
            if not history:
                d.say("words.nothing_before")
                self.answering.reprompt(d)
                return
            self._go(d, Location.parse(history.pop()))
        elif command == "help":
            d.say("words.help")
            self.answering.reprompt(d)
        elif command == "language":
            self._push(d, here)
            self._go(d, Location("language", "choose"))

    def _answer(self, d: Dialogue, inbound: Inbound, said: str, skip: bool) -> None:
        """The message answers the current step (bot/flows/answering.py); follow where it leads."""
        flow = self.flows[d.flow]
        before = Location(d.flow, d.state)
        trigger = self.answering.trigger_for(d, inbound.choice, inbound.text or "", said, skip)
        if trigger is None:
            return
        flow.fire(d, trigger)
        followed = self._follow_handoffs(d)
        if Location(d.flow, d.state) != before and "@back" not in followed:
            self._push(d, before)

    # ----- moving between flows -------------------------------------------
    def _go(self, d: Dialogue, where: Location) -> None:
        self.flows[where.flow].enter(d, where.state)
        self._follow_handoffs(d)

    def _follow(self, d: Dialogue, target: str) -> None:
        d.handoff = target
        self._follow_handoffs(d)

    def _follow_handoffs(self, d: Dialogue) -> list[str]:
        followed: list[str] = []
        for _ in range(10):  # a content loop can never spin for ever
            target, d.handoff = d.handoff, None
            if target is None:
                return followed
            followed.append(target)
            if target == "@end":
                self._reset(d)
                return followed
            where = self._resolve(d, target)
            self.flows[where.flow].enter(d, where.state)
        raise RuntimeError("too many hand-overs in one message")

    def _resolve(self, d: Dialogue, target: str) -> Location:
        name = target.removeprefix("@")
        if name == "menu":
            audience = d.audience
            if audience and f"menus.{audience}" in self.content:
                return Location("info", f"menus.{audience}")
            return Location("who", "ask")
        if name == "back":
            history = d.memory.history
            return Location.parse(history.pop()) if history else self._resolve(d, "@menu")
        flow, _, state = name.partition(":")
        return Location(flow, state or self.flows[flow].initial)

    def _push(self, d: Dialogue, where: Location) -> None:
        d.memory.push(str(where))

    def _reset(self, d: Dialogue) -> None:
        """Forget everything unconfirmed; the next message starts afresh."""
        d.forget_everything()
        d.flow, d.state = NEW
