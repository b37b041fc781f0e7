"""Roundtable reporting service."""
