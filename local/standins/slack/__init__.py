"""A local Slack Web API: the stand-in the platform's Slack notifier talks to on 127.0.0.1."""
