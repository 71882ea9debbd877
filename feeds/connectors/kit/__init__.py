"""What every native (vendor API) connector shares: the business day, the API client with its
rate budget and retry rules, OAuth client credentials, the day's idempotent tally, the state kept
in SQLite, and the ``NativeConnector`` base that puts them together."""
