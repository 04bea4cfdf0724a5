"""The Discord front end: a thin adapter between discord.py and the scene engine.

- ``client``: the bot (intents, command sync, message intake, owned tasks);
- ``intake``: which messages are lines, and the per-channel queue that keeps turns in order;
- ``commands``: slash commands; ``swipes``: the buttons under character lines;
- ``webhooks`` / ``webhook_store``: character voices through one webhook per channel, persisted;
- ``outbox``: engine outputs rendered in a channel; ``render``: pure text shaping; ``errors``: what users see.

The engine never imports this package.
"""
