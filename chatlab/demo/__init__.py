"""The built-in loopback provider server and its scripted models (tests and demo mode)."""
