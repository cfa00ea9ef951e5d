"""The registry: the only service that knows who a communicator is."""
