"""A browser simulator: one conversation shown as an SMS thread and a Telegram chat.

inbound (what the page posts), render (a reply as both media show it),
webhook (the page and its message route), setup (its place in the app).
"""
