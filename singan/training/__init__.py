"""Training loops and losses."""
