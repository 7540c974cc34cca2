"""Throw many randomly mutated templates at the loader; fail if anything but DefinitionError escapes.

    python benchmarks/fuzz_loader.py [--count 100000] [--seed N] [--workers 2]

Each input is a built-in template (or a previous mutant) with one to six
mutations: flipped bytes, deleted, doubled or swapped lines, stray YAML
syntax (anchors, aliases, tags, brackets, documents), deep nesting, random
unicode, truncation. Exit status 1 when any exception other than
DefinitionError escapes or any single input takes more than one second; a
markdown table of the outcome is printed either way. Uses only the stdlib
``random`` so generating inputs costs little next to loading them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from workflow.domain.templates.loader import builtin_paths, load_definition
from workflow.errors import DefinitionError

SLOW_LIMIT = 1.0  # seconds for one input

# fmt: off
SYNTAX = [
    b"&a ", b"*a", b"&a [x, y]", b"[*a, *a, *a]", b"!!", b"!!python/object/apply:os.system ", b"!x ",
    b"!!str ", b"{", b"}", b"[", b"]", b"- ", b": ", b"? ", b"---\n", b"...\n", b"%YAML 1.1\n",
    b"%TAG ! tag:x,2000:\n", b"<<: *a\n", b"|\n", b">-\n", b"'", b'"', b"#", b"\t", b"\n", b"  ", b",",
    b"~", b"null", b"no", b"on", b"0755", b"1_000", b"1e3", b"2024-01-01", b"\x00", b"\x1b", b"\xff",
    b"\xef\xbb\xbf", b"\xc3", b"\xed\xa0\x80", b"\xe2\x80\xa8", b"\xc2\x85", b"key: x\n", b"required: 9\n",
    b"required: 0\n", b"required: any\n", b"distinct_people: false\n", b"on_reject: nowhere\n",
    b"on_reject: client_kickoff\n", b"approvers: []\n", b"tasks: {}\n", b"gate:\n", b"phases: []\n",
    b"roles: {}\n", b"lead: nobody\n", b"  - key: extra\n    title: Extra\n",
]
# fmt: on
UNICODE = "aZ09 _-:é€𝄞\u200b\u202e\ufeff\u2028\x85\x00\x7f漢字"


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(10)
        at = rng.randint(0, len(out))
        if kind == 0 and out:  # flip a bit
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and out:  # replace a byte with any byte
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind in (2, 3, 4, 5):  # line edits
            lines = bytes(out).split(b"\n")
            i = rng.randrange(len(lines))
            if kind == 2:
                del lines[i]
            elif kind == 3:
                lines.insert(i, lines[i])
            elif kind == 4:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines[i] = b"  " + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
            out = bytearray(b"\n".join(lines))
        elif kind == 6:  # stray YAML syntax
            out[at:at] = rng.choice(SYNTAX)
        elif kind == 7:  # deep nesting, in flow or block style
            depth = rng.randint(1, 60)
            if rng.random() < 0.5:
                out[at:at] = b"[" * depth + b"x" + b"]" * depth
            else:
                out[at:at] = (
                    b"\n" + b"".join(b"  " * d + b"k%d:\n" % d for d in range(depth)) + b"  " * depth + b"v\n"
                )
        elif kind == 8:  # random unicode
            text = "".join(rng.choice(UNICODE) for _ in range(rng.randint(1, 8)))
            out[at:at] = text.encode("utf-8", "surrogatepass")
        else:  # truncate
            del out[at:]
    return bytes(out)


def run(args: tuple[int, int, int]) -> dict[str, object]:
    """Run ``count`` inputs from ``seed``; return counts, the slowest time and the first failures."""
    seed, count, worker = args
    rng = random.Random(seed * 1_000_003 + worker)
    bases = [path.read_bytes() for path in builtin_paths().values()]
    accepted = refused = escaped = slow = 0
    slowest = 0.0
    failures: list[str] = []
    previous = bases[0]
    for _ in range(count):
        # Mostly mutate a pristine built-in; sometimes keep mutating the last mutant (deeper damage).
        base = previous if rng.random() < 0.2 else rng.choice(bases)
        data = mutate(rng, base)
        previous = data if len(data) < 20_000 else bases[0]
        start = time.perf_counter()
        try:
            load_definition(data, "fuzz.yaml")
            accepted += 1
        except DefinitionError as exc:
            refused += 1
            if not exc.problems:
                escaped += 1
                failures.append(f"DefinitionError without problems for input {data[:200]!r}")
        except BaseException as exc:  # counting exactly what must never happen
            if isinstance(exc, KeyboardInterrupt):
                raise
            escaped += 1
            if len(failures) < 5:
                failures.append(f"{type(exc).__name__} for input {data[:200]!r}\n{traceback.format_exc()}")
        elapsed = time.perf_counter() - start
        slowest = max(slowest, elapsed)
        if elapsed > SLOW_LIMIT:
            slow += 1
            if len(failures) < 5:
                failures.append(f"{elapsed:.2f} s for input {data[:200]!r}")
    return {
        "accepted": accepted,
        "refused": refused,
        "escaped": escaped,
        "slow": slow,
        "slowest": slowest,
        "failures": failures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="number of inputs (default 100000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--workers", type=int, default=min(2, multiprocessing.cpu_count()), help="processes")
    options = parser.parse_args(argv)

    workers = max(1, options.workers)
    shares = [options.count // workers + (1 if i < options.count % workers else 0) for i in range(workers)]
    jobs = [(options.seed, share, i) for i, share in enumerate(shares)]
    start = time.perf_counter()
    if workers == 1:
        results = [run(jobs[0])]
    else:
        with multiprocessing.Pool(workers) as pool:
            results = pool.map(run, jobs)
    wall = time.perf_counter() - start

    total = {key: sum(r[key] for r in results) for key in ("accepted", "refused", "escaped", "slow")}  # type: ignore[misc]
    slowest = max(float(r["slowest"]) for r in results)  # type: ignore[arg-type]
    failures = [f for r in results for f in r["failures"]]  # type: ignore[attr-defined]

    print(f"Loader fuzzing, seed {options.seed}, {workers} worker{'s' if workers != 1 else ''}\n")
    print("| inputs | accepted | refused | escaped | over 1 s | slowest ms | inputs/s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {options.count:,} | {total['accepted']:,} | {total['refused']:,} | {total['escaped']:,} "
        f"| {total['slow']:,} | {slowest * 1000:.1f} | {options.count / wall:,.0f} |"
    )
    for failure in failures[:5]:
        print("\n" + failure, file=sys.stderr)
    return 1 if total["escaped"] or total["slow"] else 0


if __name__ == "__main__":
    sys.exit(main())
