"""The team server: ``nbtrack server``. Installed with ``pip install "nbtrack[server]"``.

FastAPI on uvicorn, SQLAlchemy 2 with Alembic; one SQLite file by default, PostgreSQL
(psycopg 3) for several workers. ``import nbtrack`` never loads this package.
"""
