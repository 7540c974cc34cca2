"""Notifications: whom an event asks to act (asks), and which addresses a webhook may reach (addresses)."""
