"""testing/servers.py as a newcomer meets it: no DATABASE_URL or REDIS_URL, and a server's binaries
missing. The tests that need that server skip with a one-line reason, and under REQUIRE_SERVICES=1
they fail instead. Each case runs pytest in a subprocess, with PATH stripped of the binaries."""

import os
import re
import shutil
import subprocess
import sys

from testing.fixtures import BASE_DIR

BINARIES = ("redis-server", "initdb", "pg_ctl")
PROBE = """
def test_needs_redis(redis_client):
    pass


def test_needs_postgres(postgres):
    pass
"""
# PostgreSQL's binaries are also looked for off PATH (testing.servers.POSTGRES_BIN_DIRS), where a
# test cannot uninstall them: this plugin, loaded before the servers start, points that search
# at an empty folder.
HIDE_POSTGRES_DIRS = """
import testing.servers

testing.servers.POSTGRES_BIN_DIRS = {empty!r}
"""
REDIS_REASON = "REDIS_URL is not set and redis-server is not installed"
POSTGRES_REASON = "DATABASE_URL is not set and PostgreSQL's initdb/pg_ctl are not installed"


def path_without_servers():
    """PATH without every folder that holds one of the servers' binaries."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(
        folder for folder in folders if folder and not any(os.path.exists(os.path.join(folder, b)) for b in BINARIES)
    )


def run_probe(tmp_path, **env):
    (tmp_path / "test_probe.py").write_text(PROBE)
    empty = tmp_path / "no-postgresql"
    empty.mkdir()
    (tmp_path / "hide_postgres_dirs.py").write_text(HIDE_POSTGRES_DIRS.format(empty=str(empty)))
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "REQUIRE_SERVICES", "PYTEST_ADDOPTS", "PYTHONPATH"}
    }
    # COLUMNS: wide enough that pytest does not cut the summary lines short.
    environment.update(PATH=path_without_servers(), PYTHONPATH=str(tmp_path), COLUMNS="1000", **env)
    assert not any(shutil.which(binary, path=environment["PATH"]) for binary in BINARIES)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(BASE_DIR / "pytest.ini"),
        "-p",
        "hide_postgres_dirs",
        "-p",
        "testing.fixtures",
        "-p",
        "no:cacheprovider",
        "-q",
        str(tmp_path / "test_probe.py"),
    ]
    result = subprocess.run(command, cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout.splitlines()


def summary(lines):
    """The lines of pytest's short test summary (-ra): one per test that did not pass."""
    start = next(index for index, line in enumerate(lines) if "short test summary info" in line)
    return lines[start + 1 : -1]


def skipped(reason):
    # "SKIPPED [1] /tmp/.../test_probe.py:6: <reason>", the whole line
    return rf"SKIPPED \[1\] \S+test_probe\.py:\d+: {re.escape(reason)}"


def failed(test, reason):
    # The fixture fails the test's setup: "ERROR ::test_needs_redis - Failed: REQUIRE_SERVICES=1 but <reason>"
    return rf"ERROR \S*::{test} - Failed: REQUIRE_SERVICES=1 but {re.escape(reason)}"


def matches(lines, patterns):
    return len(lines) == len(patterns) and all(
        sum(bool(re.fullmatch(pattern, line)) for line in lines) == 1 for pattern in patterns
    )


def test_a_missing_binary_skips_the_tests_that_need_it_with_a_one_line_reason(tmp_path):
    code, lines = run_probe(tmp_path)
    assert code == 0, "\n".join(lines)
    assert matches(summary(lines), [skipped(REDIS_REASON), skipped(POSTGRES_REASON)]), "\n".join(lines)
    assert re.fullmatch(r"2 skipped in .*", lines[-1])


def test_under_require_services_a_missing_binary_fails_instead(tmp_path):
    code, lines = run_probe(tmp_path, REQUIRE_SERVICES="1")
    assert code == 1, "\n".join(lines)
    expected = [failed("test_needs_redis", REDIS_REASON), failed("test_needs_postgres", POSTGRES_REASON)]
    assert matches(summary(lines), expected), "\n".join(lines)
    assert re.fullmatch(r"2 errors in .*", lines[-1])
