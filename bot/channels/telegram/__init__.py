"""The Telegram channel: a signed webhook into python-telegram-bot, replies as
HTML with inline buttons, and a quick exit that wipes the chat from the phone.

inbound (verify the secret, parse the update), render (HTML and buttons),
client (the Bot API and its pace), send (replies delivered at least once, the
outbox's TelegramSender), background (what a rate limit held back), wipe (EXIT),
handlers (the engine behind PTB), webhook (the route and lifespan), setup (the
CLI's set-webhook and poll; its place in the app and the worker).

Only private chats are served. Groups, supergroups and channels get silence
and the bot leaves them; nothing of theirs is stored. Every message id of a
private chat is remembered for 48 hours so EXIT can delete the conversation.
Each update is processed before the webhook answers. Replies are stored with
the turn before anything is sent and counted as they go out, so a retried
delivery (same update_id) sends only what did not go the first time, and the
worker finishes what neither could: at least once, never lost.
"""
