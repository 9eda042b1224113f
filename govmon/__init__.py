"""govmon — continuous monitoring of government websites and new-media accounts."""

__version__ = "0.1.0"
