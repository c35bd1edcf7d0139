"""A web chat on the service's own site, and on partner sites by one script line.

config (colours, exit site, allowed origins, from content/data/webchat.yaml),
inbound (what the page posts, session tokens), render (replies for the page),
limits (per-address caps), webhook (the page, the widget, the message routes),
setup (its place in the app). Messages waiting for the page's next poll are in
the channels' shared bot/channels/mailbox.py.
"""
