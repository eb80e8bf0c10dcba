"""The ``graphlattice`` command: thin wrappers over library functions.

Results go to stdout (or ``--output``); progress, notes and warnings go to stderr. A user mistake is one
line on stderr and a non-zero exit, never a traceback (set ``GRAPHLATTICE_DEBUG=1`` to see one for bugs).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from graphlattice._version import __version__
from graphlattice.errors import GraphLatticeError, UsageError

FORMATS = ("table", "json", "sarif", "html")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, so an existing report is never half-overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a report is an ordinary file
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


class _Step:
    """Handle for advancing a progress display."""

    def __init__(self, progress: Progress, task: TaskID, label: str) -> None:
        self._progress, self._task, self._label = progress, task, label

    def advance(self, description: str | None = None, amount: int = 1) -> None:
        self._progress.update(self._task, advance=amount, description=description or self._label)

    def set(self, completed: int, total: int) -> None:
        self._progress.update(self._task, completed=completed, total=total)


@contextmanager
def _progress(label: str, total: int | None = None) -> Iterator[_Step]:
    """A transient progress display on stderr (silent when stderr is not a terminal)."""
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=_stderr(), transient=True) as progress:
        yield _Step(progress, progress.add_task(label, total=total), label)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="graphlattice")
def cli() -> None:
    """GraphLattice: assess an Entra ID tenant's identity risks, offline or from a snapshot.

    \b
    Start with the built-in demo tenant:
      graphlattice assess --demo
      graphlattice risks
    """


# ---- assess --------------------------------------------------------------------------------------------


@cli.command()
@click.argument("snapshot", required=False, type=click.Path(path_type=Path))
@click.option("--demo", is_flag=True, help="Assess the built-in demo tenant (generated on the fly, offline).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="Output format; json and sarif go to stdout alone.",
)
@click.option(
    "--output", "-o", type=click.Path(path_type=Path), help="Write the report to FILE instead of stdout."
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path),
    help="Also write the single-file HTML report to this path.",
)
@click.option(
    "--fail-on", type=click.Choice(SEVERITIES), help="Exit 1 if an unwaived FAIL at or above this level."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Settings file (default: graphlattice.yaml inside the snapshot, if present).",
)
@click.option(
    "--waivers",
    "waivers_path",
    type=click.Path(path_type=Path),
    help="YAML list of documented exceptions (risk, object, rationale, owner, expires).",
)
@click.option("--risk", "risks", multiple=True, help="Assess only this risk id (repeatable).")
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour in the table; 'always' keeps it through a pipe (e.g. | less -R).",
)
def assess(
    snapshot: Path | None,
    demo: bool,
    fmt: str,
    output: Path | None,
    html_path: Path | None,
    fail_on: str | None,
    config_path: Path | None,
    waivers_path: Path | None,
    risks: tuple[str, ...],
    color: str,
) -> None:
    """Assess SNAPSHOT (a folder of Microsoft Graph JSON) or, with --demo, the demo tenant."""
    from graphlattice.assess import run_assessment

    if demo == (snapshot is not None):
        raise UsageError("give either a SNAPSHOT folder or --demo (not both, not neither)")
    err = _stderr()
    with tempfile.TemporaryDirectory(prefix="graphlattice-demo-") as tmp:
        if demo:
            from graphlattice.demo import generate_demo

            snapshot = Path(tmp) / "demo"
            with _progress("Generating the demo tenant") as step:
                generate_demo(snapshot, progress=lambda done, total: step.set(done, total))
        assert snapshot is not None
        with _progress("Assessing") as step:
            result = run_assessment(
                snapshot,
                config_path=config_path,
                waivers_path=waivers_path,
                only=list(risks) or None,
                progress=lambda what: step.advance(f"Assessing: {what}"),
            )
    if demo:
        result.config_note = None  # the demo's own settings file lives in a temporary folder
    for note in result.notes_for_user():
        err.print(f"[yellow]note:[/] {note}", soft_wrap=True)
    _emit(result.assessment, fmt, output, html_path, color)
    if fail_on:
        from graphlattice.checks.result import Severity

        failing = result.assessment.failing_at_or_above(Severity.parse(fail_on))
        if failing:
            err.print(
                f"{len(failing)} unwaived finding(s) at or above {fail_on}: failing as asked (--fail-on)."
            )
            sys.exit(1)


def _emit(
    assessment: object, fmt: str, output: Path | None, html_path: Path | None, color: str = "auto"
) -> None:
    from graphlattice.checks.engine import Assessment
    from graphlattice.report import render_html, render_json, render_sarif, render_table

    assert isinstance(assessment, Assessment)
    err = _stderr()
    if html_path is not None:
        _write_atomic(html_path, render_html(assessment).encode("utf-8"))
        err.print(f"HTML report written to {html_path.resolve()}")
    if fmt == "table":
        if output is None:
            force = True if color == "always" else None
            render_table(assessment, Console(force_terminal=force, no_color=color == "never"))
        else:
            console = Console(record=True, width=110, file=open(os.devnull, "w"))  # noqa: SIM115
            render_table(assessment, console)
            _write_atomic(output, console.export_text().encode("utf-8"))
            err.print(f"Table written to {output}")
        return
    data: bytes
    if fmt == "json":
        data = render_json(assessment)
    elif fmt == "sarif":
        data = render_sarif(assessment)
    else:
        data = render_html(assessment).encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        if not data.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
        sys.stdout.flush()
    else:
        _write_atomic(output, data)
        err.print(f"{fmt.upper()} report written to {output.resolve()}")


# ---- demo ----------------------------------------------------------------------------------------------


@cli.group()
def demo() -> None:
    """The built-in demo tenant."""


@demo.command("generate")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--users", default=400, show_default=True, help="Number of users (50 to 200,000).")
@click.option(
    "--seed", default=7, show_default=True, help="Random seed; the same seed gives the same tenant."
)
@click.option("--force", is_flag=True, help="Replace OUT_DIR's snapshot files if the folder is not empty.")
def demo_generate(out_dir: Path, users: int, seed: int, force: bool) -> None:
    """Write the demo tenant as a snapshot folder (plus 14 days of audit and sign-in logs)."""
    from graphlattice.demo import generate_demo

    if not 50 <= users <= 200_000:
        raise UsageError(f"--users must be between 50 and 200000 (got {users})")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise UsageError(f"{out_dir} is not empty; use --force to overwrite its snapshot files")
    with _progress(f"Generating {users:,} users") as step:
        summary = generate_demo(
            out_dir, users=users, seed=seed, progress=lambda done, total: step.set(done, total)
        )
    _stderr().print(
        f"Demo tenant written to {out_dir.resolve()}: {summary.users:,} users, {summary.groups:,} groups, "
        f"{summary.audit_records:,} audit and {summary.signin_records:,} sign-in records."
    )


# ---- risks ---------------------------------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.pass_context
def risks(ctx: click.Context) -> None:
    """List the risk catalogue; 'risks show ID' prints one article."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from graphlattice.checks.registry import load_catalog

    table = Table(title="GraphLattice risk catalogue", title_justify="left")
    table.add_column("Risk id", no_wrap=True, style="bold")
    table.add_column("Severity")
    table.add_column("Title")
    table.add_column("ATT&CK")
    for risk in load_catalog().values():
        a = risk.article
        table.add_row(a.id, a.severity.value, a.title, ", ".join(a.attack))
    Console().print(table)


@risks.command("show")
@click.argument("risk_id")
@click.option("--raw", is_flag=True, help="Print the article's Markdown as it is stored.")
def risks_show(risk_id: str, raw: bool) -> None:
    """Print the full article of RISK_ID."""
    from rich.markdown import Markdown

    from graphlattice.checks.registry import get_risk

    article = get_risk(risk_id).article
    header = (
        f"# {article.title}\n\n"
        f"**Risk id:** `{article.id}` · **Severity:** {article.severity.value} · "
        f"**ATT&CK:** {', '.join(article.attack) or '—'} · "
        f"**Related:** {', '.join(article.related) or '—'}\n\n"
        f"**Graph data:** {', '.join(article.requires + article.optional)} · "
        f"**Permissions:** {', '.join(article.permissions)}\n\n"
    )
    text = header + article.body
    if raw:
        click.echo(text)
    else:
        Console().print(Markdown(text))


# ---- entry point ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    err = _stderr()
    try:
        cli.main(args=argv, prog_name="graphlattice", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        err.print(f"[red]error:[/] {exc.format_message()}", soft_wrap=True, markup=True, highlight=False)
        sys.exit(exc.exit_code)
    except GraphLatticeError as exc:
        err.print(f"[red]error:[/] {click.style('', reset=False)}", end="")
        err.print(str(exc), markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("GRAPHLATTICE_DEBUG"):
            raise
        err.print(
            f"internal error: {type(exc).__name__}: {exc} (set GRAPHLATTICE_DEBUG=1 for details)",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(70)
