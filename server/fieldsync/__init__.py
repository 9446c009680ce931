"""The server side of field sync (``sync/PROTOCOL.md``): the database behind ``sync.store.Store``."""
