"""Write docs/benchmarks.md from the logs `make bench` keeps (var/bench/<script>.log):
each benchmark's printed figures, its RESULT line read back, the ratio against its
target (met or missed), and the machine it ran on. Nothing is typed in by hand: a
script that printed no RESULT line is listed as failed. The one hand-written part,
the section from "## What changed and why" to the end, is carried over from the
file being replaced.

    python infra/dev/benchreport.py var/bench docs/benchmarks.md
"""

from __future__ import annotations

import operator
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULT = re.compile(
    r"^RESULT (?P<name>\w+) ratio=(?P<ratio>[0-9.eE+-]+) "
    r"target(?P<op><=|>=)(?P<target>[0-9.]+)\s*$"
)
CHECKS = {"<=": operator.le, ">=": operator.ge}
# eventlet's deprecation notice, which every script's import prints to stderr (a
# paragraph: its lines are not figures)
NOTICE = (
    "Eventlet is deprecated",
    "we strongly recommend against using it",
    "If you are already using Eventlet",
    "framework.  For more detail see",
    "eventlet.readthedocs.io",
)


def machine() -> list[str]:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    return [
        f"- CPU: {os.cpu_count()} × {model} ({platform.machine()})",
        f"- memory: {memory}",
        f"- Python {platform.python_version()} on {platform.system()} "
        f"{platform.release()}",
    ]


def read(log: Path) -> dict[str, object]:
    lines = log.read_text(errors="replace").splitlines()
    found = None
    for line in reversed(lines):
        found = RESULT.match(line.strip())
        if found:
            break
    figures = [
        line.rstrip()
        for line in lines
        if line.strip()
        and not line.startswith(("RESULT", "  import", "Traceback", "  File"))
        and "Warning" not in line
        and "eventlet" not in line.lower()
        and not any(part in line for part in NOTICE)
    ]
    entry: dict[str, object] = {"script": log.stem, "figures": figures[-12:]}
    if found is None:
        entry["status"] = "failed: no RESULT line"
        return entry
    ratio, target = float(found["ratio"]), float(found["target"])
    met = CHECKS[found["op"]](ratio, target)
    entry.update(
        name=found["name"],
        ratio=ratio,
        target=f"{found['op']} {found['target']}",
        status="met" if met else "missed",
    )
    return entry


NOTES = "## What changed and why"


def notes(previous: Path) -> list[str]:
    """The hand-written section of the file being replaced, if it has one."""
    if not previous.exists():
        return []
    text = previous.read_text()
    start = text.find(NOTES)
    return text[start:].rstrip().splitlines() if start >= 0 else []


def render(entries: list[dict[str, object]], when: str, kept: list[str]) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {when} from what each script in `bench/` printed",
        "(its last line: `RESULT <name> ratio=<value> target<op><value>`). Each ratio",
        "compares Svyaz with a baseline measured in the same run on the same machine.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Results",
        "",
        "| benchmark | ratio | target | |",
        "| --- | --- | --- | --- |",
    ]
    for e in entries:
        if "ratio" in e:
            out.append(
                f"| `bench/{e['script']}.py` | {e['ratio']:.2f} | {e['target']} | "
                f"{'target met' if e['status'] == 'met' else '**target missed**'} |"
            )
        else:
            out.append(f"| `bench/{e['script']}.py` | — | — | **{e['status']}** |")
    out += ["", "## What each printed", ""]
    for e in entries:
        out += [f"### bench/{e['script']}.py", "", "```"]
        out += [str(line) for line in e["figures"]]  # type: ignore[attr-defined]
        out += ["```", ""]
    if kept:
        out += [*kept, ""]
    return "\n".join(out)


def main() -> None:
    logs, target = Path(sys.argv[1]), Path(sys.argv[2])
    entries = [read(log) for log in sorted(logs.glob("*.log"))]
    if not entries:
        raise SystemExit(f"no benchmark logs in {logs}")
    # when the figures were measured: the last log's writing, not this report's
    newest = max(log.stat().st_mtime for log in logs.glob("*.log"))
    when = datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d %H:%M UTC")
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = notes(target)
    target.write_text(render(entries, when, kept).rstrip() + "\n")
    for e in entries:
        print(f"{e['script']}: {e.get('ratio', '-')} {e['status']}")


if __name__ == "__main__":
    main()
