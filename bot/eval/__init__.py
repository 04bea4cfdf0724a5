"""The evaluation harness (``python -m bot eval``): Role-Play Bench-style self-play, a judge, reports.

``scenarios`` loads our scenario files and Role-Play Bench seeds; ``simulator`` plays the user;
``baseline`` is the plain single-prompt front end; ``judge`` scores the NPC side per 20-turn chunk with
the rubrics in ``rubrics/``; ``runner`` runs and checkpoints the jobs; ``report`` writes JSON, Markdown
and a PNG plot.
"""
