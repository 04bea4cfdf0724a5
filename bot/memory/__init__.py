"""Memory that does not fade: token budgets, facts, lore, retrieval, summaries and rewind."""
