"""Roundtable sessions service."""
