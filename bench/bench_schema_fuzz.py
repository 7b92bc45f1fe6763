"""How the schema fuzzing's requests were answered: by the handlers, or by the validators in front of them.

    python bench/bench_schema_fuzz.py [--examples 6]

Runs ``tests/test_schema_fuzz.py`` (two xdist workers, SQLite unless DATABASE_URL is set) with
``SCHEMA_FUZZ_STATS`` pointing at a scratch file, then prints, over every generated request, the share
answered 2xx/3xx, 4xx by the handler (404 of an unknown id, 409, 422, a refused login, ...), 401/403 by
the authentication/permission layer (a learner on an admin or service endpoint) and 400 by validation
(``validation_error``/``malformed_request``: the schema let through what the serializer refused), and
the operations with the most validation answers (where the schema is looser than the serializer).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stats = Path(scratch) / "answers.jsonl"
        env = {**os.environ, "SCHEMA_FUZZ_STATS": str(stats), "SCHEMA_FUZZ_EXAMPLES": str(args.examples)}
        started = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pytest", "tests/test_schema_fuzz.py", "-q", "-n", "2",
                              "-p", "no:randomly"], cwd=BASE_DIR, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        print(run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-2000:])
        answers: Counter = Counter()
        for line in stats.read_text().splitlines() if stats.exists() else []:
            answers.update(json.loads(line))
    buckets: Counter = Counter()
    validation: Counter = Counter()
    for key, count in answers.items():
        operation, bucket = key.rsplit("|", 1)
        buckets[bucket] += count
        if bucket == "400 by validation":
            validation[operation] += count
    total = sum(buckets.values())
    print(f"{total} requests, {args.examples} examples per operation and caller, {elapsed:.0f} s wall")
    for bucket in ("2xx/3xx", "4xx by handler", "401/403 by authentication/permission", "400 by validation"):
        print(f"  {bucket:<40} {buckets[bucket]:>6}  {100 * buckets[bucket] / max(total, 1):5.1f} %")
    print("most validation answers:")
    for operation, count in validation.most_common(10):
        print(f"  {count:>5}  {operation}")
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
