"""course layer."""
