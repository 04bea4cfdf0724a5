"""The lowest floor: the engine's ports (chat model, clock, messages) and pure text helpers about who is
addressed, shared by the store, the world, memory, the model backends and the engine, so that none of
them imports a floor above its own (the layer order is checked by ``tests/test_layers.py``)."""
