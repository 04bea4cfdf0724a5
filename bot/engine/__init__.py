"""The role-play engine: turns inbound lines into utterances and narration. Never imports discord."""
