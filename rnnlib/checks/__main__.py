"""How many catalogued mistakes each checker catches and names: ``python -m rnnlib.checks``.

Every graded function has a catalogue of known mistakes (see ``rnnlib/checks/_engine.py``).
This runs each mistake through its function's checker, as if a student had made it, and prints
per function how many are rejected and named as themselves; ``-v`` lists each one, with the
message a student would read. Exit status 1 when any mistake is not caught and named.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict

import rnnlib.checks  # noqa: F401 - loads every checker module, which registers its exercises
from rnnlib.checks._engine import EXERCISES, catalogue_outcomes


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rnnlib.checks", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every mistake and its message")
    parser.add_argument("functions", nargs="*", help="only these graded functions")
    args = parser.parse_args(argv)
    chosen = [EXERCISES[f] for f in args.functions] if args.functions else list(EXERCISES.values())
    rows = catalogue_outcomes(chosen)
    by_function = defaultdict(list)
    for row in rows:
        by_function[row["function"]].append(row)
    width = max([len("graded function")] + [len(e.name) for e in chosen])
    print(f"{'graded function'.ljust(width)}  mistakes  named  misnamed  not caught")
    for exercise in chosen:
        mine = by_function[exercise.name]
        count = {k: sum(r["outcome"] == k for r in mine) for k in ("named", "misnamed", "passed")}
        print(f"{exercise.name.ljust(width)}  {len(mine):8d}  {count['named']:5d}  "
              f"{count['misnamed']:8d}  {count['passed']:10d}")
        if args.verbose:
            for r in mine:
                print(f"    [{r['outcome']}] {r['mistake']}" + (f" (diagnosed as {r['got']})" if r["outcome"] == "misnamed" else ""))
                if r["message"]:
                    print(f"        {r['message']}")
    total = len(rows)
    named = sum(r["outcome"] == "named" for r in rows)
    print(f"{'total'.ljust(width)}  {total:8d}  {named:5d}  "
          f"{sum(r['outcome'] == 'misnamed' for r in rows):8d}  {sum(r['outcome'] == 'passed' for r in rows):10d}")
    return 0 if named == total else 1


if __name__ == "__main__":
    sys.exit(main())
