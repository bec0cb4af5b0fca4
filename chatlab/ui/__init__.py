"""The desktop window: widgets over the streaming core (the only package that imports Qt)."""
