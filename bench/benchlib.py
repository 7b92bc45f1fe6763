"""What several benchmarks share (not a benchmark itself: ``make bench`` runs ``bench/bench_*.py``)."""

from urllib.parse import urlparse


def recreate_database(url: str) -> None:
    """Drops and creates the PostgreSQL database of ``url`` (a scratch database: the benchmark owns it)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
