"""Backups of the host's state (issue 9): consistent copies of live databases."""
