"""Roundtable reminders service."""
