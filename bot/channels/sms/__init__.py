"""SMS over Twilio: inbound (parse, and verify the signature), render (TwiML),
send (the outbox's SmsSender), setup (its place in the app and the worker);
webhook answers texts, status records how each message we sent fared."""
