"""`python -m bench` (`make bench`): run the benchmark suite against real processes and write
bench/results.json.

    python -m bench                       # everything, at the issue's sizes
    python -m bench --scale 0.1           # every size x 0.1 (or BENCH_SCALE=0.1)
    python -m bench --only throughput,scaling

It needs PostgreSQL (DATABASE_URL names the server; the run uses its own database) and Redis
(REDIS_URL, whose db it flushes; redis://127.0.0.1:6379/10 by default).
"""

import argparse
import datetime
import importlib
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

BENCHMARKS = ["latency", "throughput", "priority", "followers", "memory", "scaling", "dashboard", "paths", "parity"]
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results.json"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=float(os.environ.get("BENCH_SCALE") or 1),
        help="multiply every size by this (default: BENCH_SCALE or 1, the issue's sizes)",
    )
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the results JSON")
    parser.add_argument("--database", help="name of the database to create (default: <DATABASE_URL's>_bench)")
    parser.add_argument("--keep-database", action="store_true", help="leave the run's database in place")
    parser.add_argument("--workdir", type=Path, help="where process logs go (default: a new temporary folder)")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()] or BENCHMARKS
    unknown = sorted(set(args.only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    if not 0 < args.scale <= 10:
        parser.error("--scale must be in (0, 10]")
    return args


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mailsite-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    from . import environment, procs, report
    from .core import Context, Result

    env = environment.environment_build(database=args.database, workdir=workdir)
    print(f"bench: scale {args.scale:g}, database {env.database_url.rsplit('/', 1)[1]}, redis {env.redis_url}")
    print(f"bench: process logs in {workdir}")
    results = []
    started = datetime.datetime.now(datetime.UTC)
    created = False
    try:
        created = True
        environment.database_create(env)
        environment.django_setup(env)
        machine = environment.machine_describe(env)
        ctx = Context(env=env, scale=args.scale, workdir=workdir)
        for name in args.only:
            module = importlib.import_module(f"bench.{name}")
            print(f"\nbench: running {name} ...", flush=True)
            began = time.monotonic()
            try:
                result = module.run(ctx)
            except KeyboardInterrupt:
                raise
            except Exception as error:
                traceback.print_exc()
                title = (module.__doc__ or name).strip().splitlines()[0]
                result = Result(name, title, goal="", error=f"{type(error).__name__}: {error}")
            finally:
                procs.stop_all()
            result.numbers["seconds"] = round(time.monotonic() - began, 1)
            result.numbers["load_average_1m_after"] = round(os.getloadavg()[0], 2)  # others sharing the machine
            results.append(result)
            report.print_result(result)
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping every process it started", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        if created and not args.keep_database:
            try:
                environment.database_drop(env)
            except Exception as error:
                print(f"bench: could not drop the run's database: {error}", file=sys.stderr)

    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    document = report.document(
        results, machine=machine, scale=args.scale, started=started, commit=environment.commit_describe()
    )
    report.write(document, args.output)
    print()
    print(report.summary_table(results))
    print(f"\nbench: wrote {args.output}")
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
