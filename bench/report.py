"""Printing the results as tables and writing bench/results.json."""

import json
import os


def verdict(result):
    if result.error:
        return "ERROR"
    if result.met is None:
        return "-"
    return "met" if result.met else "MISSED"


def print_result(result):
    print(f"\n{result.title}")
    width = max((len(label) for label, _ in result.rows), default=10)
    for label, value in result.rows:
        print(f"  {label:<{width}}  {value:>18}")
    for note in result.notes:
        print(f"  note: {note}")
    if result.error:
        print(f"  error: {result.error}")
    elif result.headline:
        print(f"  in short: {result.headline}")
    if result.goal:
        print(f"  goal: {result.goal}: {verdict(result)}")


def summary_table(results):
    """A Markdown table, ready for the README."""
    lines = ["| Benchmark | Measured | Goal | Result |", "|---|---|---|---|"]
    for result in results:
        measured = result.error or result.headline or "; ".join(f"{label}: {value}" for label, value in result.rows)
        lines.append(f"| {result.title} | {measured} | {result.goal} | {verdict(result)} |")
    return "\n".join(lines)


def document(results, *, machine, scale, started, commit):
    return {
        "date": started.isoformat(timespec="seconds"),
        "commit": commit,
        "scale": scale,
        "machine": machine,
        "benchmarks": {result.key: result.as_dict() for result in results},
        "summary": {result.key: verdict(result) for result in results},
    }


def write(document, path):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
