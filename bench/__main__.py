"""`python -m bench` (`make bench`): run the benchmark suite against real processes and write
bench/results.json.

    python -m bench                       # everything, at the issue's sizes
    python -m bench --scale 0.1           # every size x 0.1 (or BENCH_SCALE=0.1)
    python -m bench --only throughput,scaling

It needs PostgreSQL (DATABASE_URL names the server; the run creates its own databases and drops
them at its end) and Redis (REDIS_URL, redis://127.0.0.1:6379/10 by default: an empty db, or one
an earlier run marked as the bench's own; it refuses a db holding keys it did not write). Stopped
(Ctrl-C, SIGTERM), it still writes what it measured, marked "complete": false.
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

    from testing.ownership import Refused

    from . import environment

    env = environment.environment_build(database=args.database, workdir=workdir)
    print(f"bench: scale {args.scale:g}, database {env.database_url.rsplit('/', 1)[1]}, redis {env.redis_url}")
    print(f"bench: process logs in {workdir}")
    run = Run(args, env)
    try:
        environment.services_claim(env)
        environment.database_create(env)
        environment.django_setup(env)
        run.measure()
    except Refused as refused:
        print(f"bench: {refused}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping every process it started", file=sys.stderr)
        run.interrupted = True
    finally:
        run.cleanup()
    if run.machine is None:  # stopped before anything was measured
        return 130
    run.write()
    if run.interrupted:
        return 130
    return 0 if all(r.error is None for r in run.results) else 1


class Run:
    """One run: what it measured so far, written even when it is stopped half way."""

    def __init__(self, args, env):
        self.args, self.env = args, env
        self.results = []
        self.machine = None
        self.interrupted = False
        self.current = None  # (benchmark name, monotonic start) of the one running
        self.started = datetime.datetime.now(datetime.UTC)

    def measure(self):
        from . import environment, procs, report
        from .core import Context, Result

        self.machine = environment.machine_describe(self.env)
        ctx = Context(env=self.env, scale=self.args.scale, workdir=self.env.workdir)
        for name in self.args.only:
            module = importlib.import_module(f"bench.{name}")
            self.current = (module, time.monotonic())
            print(f"\nbench: running {name} ...", flush=True)
            try:
                result = module.run(ctx)
            except KeyboardInterrupt:
                raise
            except Exception as error:
                traceback.print_exc()
                result = Result(name, _title(module), goal="", error=f"{type(error).__name__}: {error}")
            finally:
                procs.stop_all()
            self._add(result)
            report.print_result(result)
            self.current = None

    def _add(self, result):
        result.numbers["seconds"] = round(time.monotonic() - self.current[1], 1)
        result.numbers["load_average_1m_after"] = round(os.getloadavg()[0], 2)  # others sharing the machine
        self.results.append(result)

    def cleanup(self):
        from . import environment, procs
        from .core import Result

        procs.stop_all()
        if self.interrupted and self.current is not None:
            module = self.current[0]
            self._add(Result(module.__name__.rsplit(".", 1)[1], _title(module), goal="", error="interrupted"))
        if self.args.keep_database:
            return
        try:
            dropped = environment.databases_drop(self.env)
        except Exception as error:
            print(f"bench: could not drop the run's databases: {error}", file=sys.stderr)
        else:
            if dropped:
                print(f"bench: dropped the databases it created: {', '.join(dropped)}")

    def write(self):
        from . import environment, report

        self.machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        document = report.document(
            self.results,
            machine=self.machine,
            scale=self.args.scale,
            started=self.started,
            commit=environment.commit_describe(),
        )
        document["complete"] = not self.interrupted
        document["seconds"] = round((datetime.datetime.now(datetime.UTC) - self.started).total_seconds(), 1)
        report.write(document, self.args.output)
        print()
        print(report.summary_table(self.results))
        what = "the partial results (the run was stopped)" if self.interrupted else "the results"
        print(f"\nbench: wrote {what} to {self.args.output}")


def _title(module):
    return (module.__doc__ or module.__name__).strip().splitlines()[0]


if __name__ == "__main__":
    sys.exit(main())
