"""Ensemble: a multi-character group role-play engine with a Discord front end."""

__version__ = "0.1.0"
