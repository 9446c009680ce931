"""The field-sync protocol as a standalone package (no Flask, no SQLAlchemy).

The protocol lands with the field-sync work; sync/PROTOCOL.md will be its complete contract.
"""
