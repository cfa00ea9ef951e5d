"""Where the last `make test` spent its time: each test file's total and the slowest
tests, from the JUnit XML files the runner leaves in var/test/ (infra/dev/testrun.py).

    python infra/dev/testtimes.py            # the 25 slowest files and tests
    python infra/dev/testtimes.py --top 50

A test's time includes its fixtures' set-up, so the first test of a file that starts
a whole system carries that system's start.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "test"


def cases(folder: Path) -> list[tuple[str, str, str, float]]:
    """(job, file, test, seconds) for every test case in the folder's XML files."""
    found = []
    for path in sorted(folder.glob("*.xml")):
        for case in ElementTree.parse(path).iter("testcase"):
            module = case.get("classname", "")
            found.append(
                (
                    path.stem,
                    module.replace(".", "/") + ".py",
                    case.get("name", ""),
                    float(case.get("time") or 0),
                )
            )
    return found


def report(found: list[tuple[str, str, str, float]], top: int) -> list[str]:
    files: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for job, module, _, seconds in found:
        files[job, module] += seconds
        counts[job, module] += 1
    lines = [f"{len(found)} tests, {sum(s for *_, s in found):.0f} s in all", ""]
    lines.append(f"the {top} slowest files (seconds, tests, job):")
    for (job, module), seconds in sorted(files.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{seconds:8.1f} {counts[job, module]:4d}  {module} ({job})")
    lines += ["", f"the {top} slowest tests (seconds):"]
    for _, module, name, seconds in sorted(found, key=lambda c: -c[3])[:top]:
        lines.append(f"{seconds:8.1f}  {module}::{name}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--folder", type=Path, default=OUT)
    options = parser.parse_args()
    found = cases(options.folder)
    if not found:
        raise SystemExit(f"no JUnit XML in {options.folder}: run `make test` first")
    print("\n".join(report(found, options.top)))


if __name__ == "__main__":
    main()
