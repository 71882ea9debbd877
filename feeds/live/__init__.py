"""The running feed: the coordinator that polls a connector, the live feed put together from it,
the engine and the stored state, what survives a restart, and the agents' pictures."""
