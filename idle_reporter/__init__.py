"""idle_reporter."""
