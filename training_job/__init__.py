"""training_job package."""
