"""The call-handlers' dashboard: queue, requests, claims, attempts and audit.

It reads and writes the same tables as the bot through bot.storage, and never
imports flows or channels.
"""
