"""Use-cases. Each call owns one transaction and returns plain results."""
