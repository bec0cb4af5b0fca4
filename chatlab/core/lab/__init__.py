"""The live lab: the controller behind the window and ``ask``, the orchestrator
that streams lanes, the adapter contract and a response's figures.
"""
