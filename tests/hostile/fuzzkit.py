"""Mutations of real input files, and the command line run in-process, for the hostile-input fuzzer.

Every snapshot collection file of a generated demo tenant is walked to its leaves; each JSON path can be
replaced by a value of the wrong type, deleted, nested deep or blown up. The YAML inputs (settings, waivers,
scenarios) get the same treatment per key. :func:`run_cli` runs ``graphlattice`` in this process (the real
``main``, its exit code and its stderr), so thousands of cases fit in a few minutes.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graphlattice.cli import main

# A value that stands for "write this raw JSON text here" (what orjson cannot produce: a huge integer).
HUGE_INT_TEXT = "1" + "0" * 30
_HUGE = "__HUGE_INT__"


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def _deep_object(levels: int) -> Any:
    value: Any = {"id": "x"}
    for _ in range(levels):
        value = {"a": value}
    return value


# Replacement values: wrong JSON types, nulls, odd numbers, odd strings, odd containers.
JSON_MUTATIONS: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "zero": 0,
    "negative": -1,
    "float": 1.5,
    "big-float": 1.8e308,
    "int64-max": 2**63 - 1,
    "huge-int": _HUGE,
    "empty-string": "",
    "string": "x",
    "guid": "00000000-0000-0000-0000-000000000000",
    "impossible-date": "2027-02-30T00:00:00Z",
    "far-date": "9999-12-31T23:59:59Z",
    "nul-string": "a\u0000b",
    "markup-string": "[bold]x[/]",
    "long-string": "x" * 100_000,
    "empty-list": [],
    "list-of-null": [None],
    "list-of-int": [1],
    "list-of-string": ["x"],
    "list-of-object": [{}],
    "list-of-list": [[]],
    "empty-object": {},
    "object": {"x": 1},
    "deep-list": _deep(200),
    "deep-object": _deep_object(200),
}


def dumps(doc: Any) -> bytes:
    return orjson.dumps(doc).replace(f'"{_HUGE}"'.encode(), HUGE_INT_TEXT.encode())


Path_ = tuple[str | int, ...]


def leaf_paths(doc: Any, prefix: Path_ = (), per_list: int = 3) -> Iterator[Path_]:
    """Every path to a value in ``doc`` (containers too), visiting at most ``per_list`` items per list."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from leaf_paths(value, (*prefix, key), per_list)
    elif isinstance(doc, list):
        for index, value in enumerate(doc[:per_list]):
            yield from leaf_paths(value, (*prefix, index), per_list)


def schema_paths(doc: Any, per_shape: int = 2) -> list[Path_]:
    """Paths deduplicated by shape (list indices as ``*``), keeping ``per_shape`` concrete ones each."""
    seen: dict[tuple[str, ...], int] = {}
    out: list[Path_] = []
    for path in leaf_paths(doc, per_list=1_000_000):
        shape = tuple("*" if isinstance(p, int) else p for p in path)
        if seen.get(shape, 0) < per_shape:
            seen[shape] = seen.get(shape, 0) + 1
            out.append(path)
    return out


_DELETE = object()


def mutate(doc: Any, path: Path_, value: Any) -> Any:
    """A deep copy of ``doc`` with the value at ``path`` replaced (or deleted when ``value`` is DELETE)."""
    copy = orjson.loads(orjson.dumps(doc))
    if not path:
        return value
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if value is _DELETE:
        del parent[last]
    else:
        parent[last] = value
    return copy


DELETE = _DELETE


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int
    stderr: str
    stdout: bytes


def run_cli(*argv: str) -> Outcome:
    """``graphlattice ARGV`` in this process: its exit code, its stderr and its stdout."""
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    stderr = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            with contextlib.suppress(ValueError):
                stdout.flush()
    return Outcome(code, stderr.getvalue(), out.getvalue())


def collection_files(snapshot: Path) -> list[Path]:
    return sorted(p for p in snapshot.iterdir() if p.suffix in (".json", ".jsonl"))


def read_doc(path: Path) -> Any:
    if path.suffix == ".jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return orjson.loads(path.read_bytes())


def write_doc(path: Path, doc: Any) -> None:
    if path.suffix == ".jsonl":
        if not isinstance(doc, list):
            path.write_bytes(dumps(doc) + b"\n")
            return
        path.write_bytes(b"".join(dumps(line) + b"\n" for line in doc))
    else:
        path.write_bytes(dumps(doc))


_ = sys


# ---- YAML inputs -------------------------------------------------------------------------------------

# Raw YAML text put in place of a value (what a YAML dumper would quote or cannot write).
YAML_RAW: dict[str, str] = {
    "impossible-date": "2027-02-30",
    "impossible-datetime": "2027-02-30T10:00:00Z",
    "huge-int": "1" + "0" * 5000,
    "big-int": "1" + "0" * 30,
    "inf": ".inf",
    "nan": ".nan",
    "deep-flow": "[" * 3000 + "]" * 3000,
    "deep-map": "{a: " * 3000 + "1" + "}" * 3000,
    "python-tag": "!!python/object/apply:os.system ['true']",
    "custom-tag": "!custom x",
    "binary": "!!binary aGVsbG8=",
    "set": "!!set {a, b}",
    "merge-bad": "{<<: 1}",
    "alias-undefined": "*nowhere",
    "complex-key": "{? [a, b] : c}",
    "null": "null",
    "true": "true",
    "zero": "0",
    "negative": "-1",
    "float": "1.5",
    "string": "x",
    "empty-list": "[]",
    "list": "[x, 1]",
    "empty-map": "{}",
    "map": "{x: 1}",
    "list-of-map": "[{x: 1}]",
    "markup": "'[bold]x[/]'",
    "long-string": "x" * 100_000,
    "nul-escape": '"a\\0b"',
}

BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)

# Whole-file replacements for any YAML input.
YAML_FILES: dict[str, bytes] = {
    "empty": b"",
    "invalid-utf8": b"a: \xff\xfe\n",
    "bom": b"\xef\xbb\xbf",
    "nul-byte": b"a: \x00\n",
    "billion-laughs": BILLION_LAUGHS.encode(),
    "deep": ("[" * 5000 + "]" * 5000).encode(),
    "many-documents": b"a: 1\n---\nb: 2\n",
    "scalar": b"just text\n",
    "list": b"- 1\n- 2\n",
    "python-tag": b"!!python/object/apply:os.system ['true']\n",
    "utf16": "a: 1\n".encode("utf-16"),
}

_RAW_MARK = "__RAW_YAML_{}__"


def yaml_with(doc: Any, path: Path_, raw: str) -> str:
    """``doc`` dumped as YAML with the value at ``path`` replaced by the raw YAML text ``raw``."""
    import yaml

    marker = _RAW_MARK.format(len(raw))
    changed = mutate(doc, path, marker) if path else marker
    text = yaml.safe_dump(changed, sort_keys=False, allow_unicode=True, width=10_000)
    return text.replace(f"'{marker}'", raw).replace(marker, raw)


# ---- one case in a forked child: exit code, stderr, peak memory, no hang --------------------------------


@dataclass(frozen=True, slots=True)
class Isolated:
    code: int  # the exit code; -1 when the child itself failed, -9 when it was killed for hanging
    stderr: str
    grew_mib: float  # the child's peak resident memory above the parent's at the fork


def _rss_kib() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_isolated(*argv: str, timeout: float = 60.0) -> Isolated:
    """``graphlattice ARGV`` in a forked child, so a crash, a hang or runaway memory is seen, not suffered."""
    import os
    import time

    before = _current_rss_kib()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        try:
            outcome = run_cli(*argv)
            payload = orjson.dumps({"code": outcome.code, "stderr": outcome.stderr[-4000:]})
        except BaseException as exc:  # noqa: BLE001 - the child reports whatever escaped, never raises
            payload = orjson.dumps({"code": -1, "stderr": repr(exc)[:4000]})
        os.write(write_end, payload)
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    os.set_blocking(read_end, False)
    while True:
        try:
            chunk = os.read(read_end, 65536)
            if chunk:
                chunks.append(chunk)
        except BlockingIOError:
            pass
        done, _status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.wait4(pid, 0)
            os.close(read_end)
            return Isolated(-9, f"hung for {timeout:.0f} s", 0.0)
        time.sleep(0.005)
    try:
        while chunk := os.read(read_end, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    os.close(read_end)
    result = orjson.loads(b"".join(chunks) or b'{"code": -1, "stderr": "the child wrote nothing"}')
    return Isolated(int(result["code"]), str(result["stderr"]), (usage.ru_maxrss - before) / 1024)


def _current_rss_kib() -> int:
    """This process's resident memory now (from /proc; the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return _rss_kib()
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") // 1024
