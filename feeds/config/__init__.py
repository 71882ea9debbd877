"""What admins write: the config file found, parsed into typed dataclasses, validated (every problem
at once, with a "did you mean"), its metric names checked, and watched for edits while the wall runs.

Modules: ``schema`` (the dataclasses and ``load_config``), ``game`` (challenges, points, periods,
schedule), ``validate`` (the TOML reader), ``metricnames``, ``secrets``, ``reload``, ``lastgood``.
"""
