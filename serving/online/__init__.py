"""The server's online state: shopper events, fraud labels and catalog changes, read by the routes.

``state`` defines ``OnlineState`` and keeps it in memory; ``eventlog`` makes it durable (a SQLite
log committed before every 2xx, replayed at start); ``redis_state`` shares it between replicas, and
``redis_watch`` notices a Redis that lost it. The storage underneath is ``storage`` (SQLite WAL,
Redis plumbing); the fraud family's own state (velocity histories) is ``fraud.online_state``.
"""
