"""Bytes to clean text: decoding, Project Gutenberg markers, cleaning, sources."""
