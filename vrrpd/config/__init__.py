"""Configuration: ``schema`` (pure dataclasses and validation) and, later, the YAML loader."""
