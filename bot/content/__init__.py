"""Content as data: characters and worlds loaded from YAML files and validated by pydantic."""
