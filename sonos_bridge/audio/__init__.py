"""Audio files the bridge makes and checks: lame runs, and what a file holds."""
