"""Storage: SQLAlchemy models, the engine, migrations and repositories (which never commit)."""
