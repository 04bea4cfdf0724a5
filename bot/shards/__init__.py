"""Sharded processes: which servers a process owns, shard leases and the IDENTIFY gate in the shared database.

Pure decisions in ``plan``, database I/O in ``leases``; nothing here imports discord (the Discord adapter
wires them into ``AutoShardedClient``).
"""
