"""The field-sync protocol as a standalone package (no Flask, no SQLAlchemy).

``PROTOCOL.md`` beside this file is the complete contract. The modules are the reference logic the
server builds on: ``messages`` (wire schemas), ``records`` (what each record type may hold),
``conflicts`` (the merge policy), ``upstream`` (apply pushes), ``downstream`` (pull by cursor),
``content`` (content hash, signatures, the two-person rule), ``store`` (the storage interface the
server implements, plus an in-memory reference store) and ``errors`` (the problem codes).
``golden`` replays the golden fixtures in ``tests/fixtures/sync`` against a fresh store.
"""
