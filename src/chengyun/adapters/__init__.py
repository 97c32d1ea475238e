"""Adapters: the outside world (storage, clock, bus, gazetteer) behind the ports of the services."""
