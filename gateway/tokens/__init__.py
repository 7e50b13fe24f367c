"""Where bearer tokens are recognised: the token sources and what they return."""
