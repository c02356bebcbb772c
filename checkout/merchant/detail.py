"""Order detail and timeline (being built)."""
