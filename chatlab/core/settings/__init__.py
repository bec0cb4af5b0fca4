"""Configuration: the config file, API keys, presets, the installation's rater and the log."""
