"""Roundtable enrollment service."""
