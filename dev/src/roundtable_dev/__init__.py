"""Roundtable's development package: the local stack and the tests' fixtures; never in an image."""
