"""Output backends for IzzyViz, installed as ``izzyviz.backends``."""
