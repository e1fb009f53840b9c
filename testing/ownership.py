"""Which Redis databases and PostgreSQL databases the tests and the benchmarks may empty.

`make test` and `make bench` empty what they use (FLUSHDB, DROP DATABASE, TRUNCATE). They only
ever do that to a database they created, or one that carries their mark:

- a Redis db is theirs when it holds the key MARKER_KEY, or is empty when first claimed (the mark
  is then written); a db holding any other key is refused;
- a PostgreSQL database is theirs when its comment (COMMENT ON DATABASE) is MARKER, set right after
  they create it; an existing database without it is refused, never dropped.

A refusal is an `Refused` error whose message says what was found and what to do.
"""

from urllib.parse import urlsplit, urlunsplit

MARKER_KEY = "mailsite:owned-by-tests"
MARKER = "mailsite tests and benchmarks: may be emptied or dropped by them"
_claimed = set()  # the Redis URLs this process has checked and marked


class Refused(RuntimeError):
    """A database that holds data the tests or the benchmarks did not write."""


def _redis(url):
    import redis

    return redis.Redis.from_url(url)


def redis_claim(url, *, who="the tests"):
    """Make sure the Redis db at `url` is ours (marked, or empty and now marked); raise Refused if
    it holds keys we did not write. Returns False when Redis is not reachable (nothing checked)."""
    import redis

    if url in _claimed:
        return True
    client = _redis(url)
    try:
        if not client.set(MARKER_KEY, MARKER, nx=True):
            _claimed.add(url)  # marked by an earlier run
            return True
        # The mark is now set; the db is ours only if nothing else was there before it.
        foreign = client.dbsize() - 1
        if foreign > 0:
            client.delete(MARKER_KEY)
            sample = ", ".join(repr(key.decode(errors="replace")) for key in client.scan(count=50)[1][:3])
            raise Refused(
                f"{who} refuse to use {url}: it holds {foreign} key(s) they did not write (e.g. {sample}), "
                f"and they empty the db they use. Give an empty Redis db (e.g. another /N number), or leave "
                f"REDIS_URL unset so a throwaway server is started. If the keys are from an interrupted run of "
                f"{who}, empty the db yourself (redis-cli -u {url} flushdb)."
            )
    except redis.RedisError:
        return False
    _claimed.add(url)
    return True


def redis_mark(url):
    """Write the mark again after the db was emptied (FLUSHDB removes it too)."""
    import redis

    if url not in _claimed:
        return
    try:
        _redis(url).set(MARKER_KEY, MARKER)
    except redis.RedisError:
        pass


def redis_flush(url):
    """Empty a claimed db, keeping the mark."""
    if url not in _claimed:
        raise Refused(f"{url} was not claimed: refusing to empty it")
    _redis(url).flushdb()
    redis_mark(url)


def postgres_admin_url(url):
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def postgres_database_state(conn, name):
    """None when `name` does not exist, else True when it carries our mark, False when not."""
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
    ).fetchone()
    if row is None:
        return None
    return row[0] == MARKER


def postgres_refuse_foreign(conn, name, *, who="the tests"):
    """Raise Refused when a database `name` exists without our mark."""
    if postgres_database_state(conn, name) is False:
        raise Refused(
            f"{who} refuse to use the PostgreSQL database {name!r}: it exists and they did not create it, "
            f"and they drop the database they use. Drop or rename it yourself if it is disposable, or choose "
            f"another name."
        )


def postgres_mark(conn, name):
    from psycopg import sql

    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(MARKER)))


def postgres_create(admin_url, name, *, who="the benchmarks"):
    """Create the database `name` as ours, replacing an earlier one of ours; refuse a foreign one."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        postgres_refuse_foreign(conn, name, who=who)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        postgres_mark(conn, name)


def postgres_drop(admin_url, name):
    """Drop the database `name` if it is ours; a foreign one is left alone."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if postgres_database_state(conn, name):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            return True
    return False
