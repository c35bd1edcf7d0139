"""WhatsApp through Twilio: the SMS webhook's rules, WhatsApp's addresses and window."""
