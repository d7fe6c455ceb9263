"""Memory: the store, where it lives, what it refuses."""
