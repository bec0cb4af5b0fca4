"""Local persistence: the SQLite session store, its migrations, and batched checkpoints."""
