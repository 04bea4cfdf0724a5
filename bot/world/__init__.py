"""The living world: places and their connections, NPC state, events. Pure where it can be."""
