"""Input channels of our own (named in credentials.yml)."""
