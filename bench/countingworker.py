"""`celery` on the project's app, counting the SQL queries each task runs (for benchmarks).

    python -m bench.countingworker -A mailsite worker --pool=solo ...

After each task it prints "bench-queries <task name> <count>"; the benchmark adds them up from
the log. The project's code is untouched: the count comes from a database execute wrapper that
is installed on every connection the worker opens.
"""

import sys

from celery.signals import task_postrun, task_prerun
from django.db.backends.signals import connection_created

_count = [0]


def _counting(execute, sql, params, many, context):
    _count[0] += 1
    return execute(sql, params, many, context)


def _on_connection(sender, connection, **kwargs):
    if _counting not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counting)


def _before(**kwargs):
    _count[0] = 0


def _after(task=None, **kwargs):
    print(f"bench-queries {task.name if task else '?'} {_count[0]}", flush=True)


def main():
    connection_created.connect(_on_connection, weak=False)
    task_prerun.connect(_before, weak=False)
    task_postrun.connect(_after, weak=False)
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
