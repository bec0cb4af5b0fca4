"""The data model: sessions, lanes, turns, responses and votes; stream events;
the export format; guards for untrusted text.
"""
