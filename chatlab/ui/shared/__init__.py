"""Widgets and helpers every window shares: safe text views, Markdown, theme,
icons, keyboard, the event loop.
"""
