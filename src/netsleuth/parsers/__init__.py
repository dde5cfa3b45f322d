"""Parsers: raw evidence text -> typed facts. Each carries a real sample as a doctest."""
