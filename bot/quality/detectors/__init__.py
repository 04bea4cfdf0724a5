"""One module per detector family; each exposes ``detect(reply, ctx, analysis=None) -> list[Finding]``."""
