"""PostgreSQL's migrations: a baseline equal to SQLite's schema at its newest version
(``NNNN_baseline.sql``), then one ``NNNN_name.sql`` per later SQLite migration, same number
and name (see ``storage/migrations/__init__.py``)."""
