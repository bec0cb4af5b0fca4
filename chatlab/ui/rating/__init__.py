"""The blind rating window and the reveal card."""
