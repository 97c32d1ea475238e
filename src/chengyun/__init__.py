"""chengyun (城运): an open street city-operations platform."""

__version__ = "0.1.0"
