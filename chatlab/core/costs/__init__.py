"""Tokens and prices: counting tokens (exact or ≈) and pricing a response (or "no price")."""
