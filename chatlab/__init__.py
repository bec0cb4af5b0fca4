"""chatlab: a desktop lab for comparing language models side by side."""

__version__ = "0.1.0"
