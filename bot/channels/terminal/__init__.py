"""Talk to the bot in a terminal: inbound (a typed line, or a button's number),
render (a reply as an SMS thread or a Telegram chat would show it), chat (the loop)."""
