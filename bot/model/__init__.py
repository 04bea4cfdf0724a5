"""Chat-model backends: the OpenAI-compatible client, role folding and reasoning stripping."""
