"""What users run: the `trade-etl` command, read-only SQL, the brief and the build summary."""
