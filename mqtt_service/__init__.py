"""mqtt_service."""
