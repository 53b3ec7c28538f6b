"""The run directory and its lock."""
