"""The Qt-free core: stream events, the session model, the orchestrator, pricing and tokens."""
