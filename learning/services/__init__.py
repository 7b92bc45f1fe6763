"""Writes. Each rule lives in one function here; pages, API views, commands and handlers call it."""
