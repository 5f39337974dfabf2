"""Helpers that import nothing else of late_mcp: text from outside, private files, platforms."""
