"""Plumbing no stage owns: errors and exit codes, the run's deadline, file reading and writing,
strict JSON, the terminal, the ranges AWS accepts, the project's settings file."""
