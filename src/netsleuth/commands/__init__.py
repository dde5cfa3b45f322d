"""Subcommands beyond diagnose/collect: each module exposes `command`, registered by cli.py."""
