"""Storage plumbing the families and the server share: SQLite in WAL mode with explicit
durability (``storage.sqlite``) and Redis connections and key namespaces (``storage.redis``)."""
