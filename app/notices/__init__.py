"""Notices: what the platform tells people (reminders, alerts, results), in-app and by e-mail, each sent once."""
