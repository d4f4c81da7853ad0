"""Admin merge flow pieces: pick, preview/confirm, suspected duplicates, selective delete."""
