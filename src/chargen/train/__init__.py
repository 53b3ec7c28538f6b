"""One training run: resume, the loop, checkpoints, schedules and reporting."""
