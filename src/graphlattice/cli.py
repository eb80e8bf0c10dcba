"""The ``graphlattice`` command: thin wrappers over library functions.

Results go to stdout (or ``--output``); progress, notes and warnings go to stderr. A user mistake is one
line on stderr and a non-zero exit, never a traceback (set ``GRAPHLATTICE_DEBUG=1`` to see one for bugs).
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from graphlattice._version import __version__
from graphlattice.collect.limits import MB, Limits
from graphlattice.errors import GraphLatticeError, UsageError
from graphlattice.safetext import SafeConsole, terminal_safe

if TYPE_CHECKING:
    from graphlattice.range.engine import Range
    from graphlattice.range.verify import Verdict
    from graphlattice.range.views import Person

FORMATS = ("table", "json", "sarif", "html")
EXIT_COLLECTION_FAILED = 4  # collect --fail-on-error: the snapshot is written, some collections are not in it
SEVERITIES = ("critical", "high", "medium", "low", "info")
_LIMITS = Limits()  # the collector's default bounds, shown in --help


def _console(*, stderr: bool = False, **options: Any) -> Console:
    """A console that prints text as given, minus what would steer the terminal.

    Paths, user input and text read from files (snapshot records, scenario and rule files, Graph errors) go
    through every print, so rich must never read them as markup (``[/]`` raises, ``[json]`` vanishes) or
    emoji codes (``file.jsonl:100:`` turns into a symbol). Styling is applied with ``Text`` or ``style=``.
    Control and invisible format characters in any of it are shown escaped (``\\u001b[2J``), never sent to
    the terminal (:mod:`graphlattice.safetext`).
    """
    return SafeConsole(stderr=stderr, markup=False, emoji=False, highlight=False, **options)


def _stderr() -> Console:
    return _console(stderr=True)


def _labelled(label: str, style: str, text: str) -> Text:
    """``label`` in ``style`` followed by ``text`` (escaped for the terminal), e.g. a yellow ``note:``."""
    return Text.assemble((label, style), " ", terminal_safe(text))


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, so an existing report is never half-overwritten.

    A path that cannot be written (under a file, on a read-only or pseudo file system, without permission)
    is the user's to fix: one line naming it, exit 2.
    """
    _check_writable(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
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


def _hang(console: Console, head: Text | str, body: str, *, indent: int) -> None:
    """Print ``head`` followed by ``body`` wrapped to the console's width, later lines indented by ``indent``.

    Words are never split, at hyphens or anywhere else: a UPN, an IP address, an object id or a URL stays
    whole on one line (and copyable); only a single word longer than the whole line may overflow it. Runs of
    white space in ``body`` collapse to one space, so spacing between the two belongs at the end of ``head``.
    """
    head = head if isinstance(head, Text) else Text(terminal_safe(head, single_line=True))
    width = max(console.width, indent + 20)
    lines = textwrap.wrap(
        " ".join(terminal_safe(body).split()),
        width=width,
        initial_indent=" " * head.cell_len,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    first = Text.assemble(head, lines[0][head.cell_len :] if lines else "")
    console.print(first, soft_wrap=True)
    for line in lines[1:]:
        console.print(line, soft_wrap=True)


def _check_writable(path: Path) -> None:
    """Refuse, before any work, an output path that can never be written: a folder, or one whose nearest
    existing ancestor is a file or a folder where this process cannot create a file (tried, not guessed from
    permission bits: read-only and pseudo file systems refuse even root)."""
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: {parent} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc} (in {parent})") from None


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
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TimeElapsedColumn(),
    ]
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


# ---- live collection options (shared by collect and assess --live) ---------------------------------------


def _live_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Where to collect from and how to sign in (see 'graphlattice collect --help')."""
    options = [
        click.option(
            "--logs-days",
            type=click.IntRange(1, 30),
            default=7,
            show_default=True,
            help="Read audit and sign-in logs of the last N days (by the service's clock).",
        ),
        click.option("--no-logs", is_flag=True, help="Do not read audit and sign-in logs."),
        click.option(
            "--collected-at",
            metavar="ISO",
            help="The snapshot's time (ages and the log window are measured from it); default: the "
            "service's clock. For an endpoint with a simulated clock, e.g. the Range's ('range status').",
        ),
        click.option(
            "--max-wait",
            type=click.FloatRange(0, min_open=True),
            default=_LIMITS.max_wait,
            show_default=True,
            metavar="SECONDS",
            help="Longest Retry-After to honour; a longer one fails that collection (resume later).",
        ),
        click.option(
            "--request-timeout",
            type=click.FloatRange(0, min_open=True),
            default=_LIMITS.deadline,
            show_default=True,
            metavar="SECONDS",
            help="Most time one request may take, to the last byte of its answer (then it is retried).",
        ),
        click.option(
            "--max-pages",
            type=click.IntRange(1),
            default=_LIMITS.max_pages,
            show_default=True,
            help="Most pages one collection may have (999 objects or 1,000 log records each).",
        ),
        click.option(
            "--max-page-mb",
            type=click.FloatRange(0, min_open=True),
            default=_LIMITS.max_page_bytes / MB,
            show_default=True,
            metavar="MB",
            help="Largest answer accepted; a larger one is refused as it streams in.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return _sign_in_options(fn)


def _warn_secret_on_command_line(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """A secret typed as an option's value is visible to every local user (ps, /proc) and lands in shell
    history: say so once, without the value, and name the ways that keep it private."""
    from click.core import ParameterSource

    if value and ctx.get_parameter_source(str(param.name)) is ParameterSource.COMMANDLINE:
        click.echo(
            f"warning: a secret given as {param.opts[0]} VALUE shows in ps and shell history, and this use "
            "is deprecated; set GRAPHLATTICE_TOKEN, or use --token-file FILE or --token-command instead",
            err=True,
        )
    return value


def _sign_in_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Which endpoint and how to sign in (collect, assess --live, respond): the fields of LiveOptions."""
    options = [
        click.option("--tenant", "tenant", metavar="ID", help="Tenant id or primary domain to sign in to."),
        click.option("--client-id", metavar="ID", help="App registration (or user-assigned identity) id."),
        click.option(
            "--client-secret-env",
            metavar="VAR",
            help="Sign in as the app with the client secret held in environment variable VAR.",
        ),
        click.option(
            "--certificate",
            type=click.Path(path_type=Path, dir_okay=False),
            help="Sign in as the app with this certificate (PEM or PKCS#12 with its private key).",
        ),
        click.option(
            "--certificate-password-env", metavar="VAR", help="Environment variable holding its password."
        ),
        click.option("--device-code", is_flag=True, help="Sign in as a user with a device code."),
        click.option("--azure-cli", is_flag=True, help="Use the Azure CLI's signed-in account (az login)."),
        click.option("--managed-identity", is_flag=True, help="Use this machine's managed identity."),
        click.option(
            "--base-url",
            metavar="URL",
            help="A Graph-compatible endpoint instead of Microsoft Graph (the Range's: range serve).",
        ),
        click.option(
            "--token",
            envvar="GRAPHLATTICE_TOKEN",
            metavar="TOKEN",
            callback=_warn_secret_on_command_line,
            help="Bearer token to send, for --base-url: set GRAPHLATTICE_TOKEN rather than giving it here "
            "(a value on the command line shows in ps; deprecated).",
        ),
        click.option(
            "--token-file",
            type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
            metavar="FILE",
            help="Read the bearer token from the first line of FILE ('-': standard input).",
        ),
        click.option(
            "--token-command",
            metavar="CMD",
            help="Command printing the bearer token on its last line ('graphlattice range token --as UPN').",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _live(conn: dict[str, Any]) -> tuple[Any, int | None, Any, Limits]:
    """(LiveOptions, log window in days or None, collectedAt or None, bounds) from the shared options."""
    from graphlattice.collect.options import LiveOptions
    from graphlattice.tenant.model import parse_time

    limits = Limits(
        max_wait=conn.pop("max_wait", _LIMITS.max_wait),
        deadline=conn.pop("request_timeout", _LIMITS.deadline),
        max_pages=conn.pop("max_pages", _LIMITS.max_pages),
        max_page_bytes=round(conn.pop("max_page_mb", _LIMITS.max_page_bytes / MB) * MB),
    )
    days = None if conn.pop("no_logs", False) else conn.pop("logs_days", 7)
    conn.pop("logs_days", None)
    stamp = conn.pop("collected_at", None)
    when = parse_time(stamp) if stamp else None
    if stamp and when is None:
        raise UsageError(
            f"--collected-at must be an ISO 8601 time such as 2026-11-16T08:30:00Z (got {stamp!r})"
        )
    return LiveOptions(**conn), days, when, limits


def _run_collection(conn: dict[str, Any], out_dir: Path, *, resume: bool, force: bool) -> Any:
    """Collect into ``out_dir`` with progress on stderr (a row per collection on a terminal, plain lines
    with a heartbeat anywhere else), then a summary naming every collection that could not be read;
    returns the CollectResult."""
    from graphlattice.collect.collector import CollectOptions, collect
    from graphlattice.collect.options import token_provider
    from graphlattice.collect.plan import PLAN
    from graphlattice.collect.progress import PlainProgress, RichProgress

    live, days, when, limits = _live(conn)
    tokens = token_provider(live)
    options = CollectOptions(
        out_dir=out_dir,
        base_url=live.endpoint,
        tenant_id=live.tenant,
        resume=resume,
        force=force,
        logs_days=days,
        collected_at=when,
        limits=limits,
    )
    names = [p.name for p in PLAN if days is not None or not p.is_log]
    err = _stderr()
    err.print(f"Collecting from {live.endpoint} into {out_dir} (read-only)")
    display = RichProgress(err, names) if err.is_terminal else PlainProgress(sys.stderr, names)
    with display as progress:
        result = collect(options, tokens, progress=progress)
    stats = result.stats
    failed = result.errors
    err.print(
        f"{len(result.outcomes) - len(failed)} of {len(result.outcomes)} collections read in "
        f"{result.seconds:.1f} s: {stats.requests:,} requests ({stats.batched_requests:,} inside $batch), "
        f"{stats.throttled} throttled, {stats.retries} retried.",
        highlight=False,
    )
    for outcome in failed.values():
        err.print(
            _labelled(
                "not collected:",
                "yellow",
                f"{outcome.name}: {outcome.error} — {outcome.remedy}",
            ),
            soft_wrap=True,
        )
    coverage = (result.manifest.get("coverage") or {}).get("authenticationMethods") or {}
    for gap in coverage.get("gaps") or ():
        if not any(str(gap).startswith(f"{name} ") for name in failed):
            err.print(_labelled("incomplete:", "yellow", f"authenticationMethods: {gap}"), soft_wrap=True)
    return result


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
    "--fail-on",
    type=click.Choice(SEVERITIES, case_sensitive=False),
    help="Exit 1 if an unwaived FAIL at or above this level.",
)
@click.option(
    "--fail-on-unknown",
    is_flag=True,
    help="Exit 1 if any unwaived finding is UNKNOWN (a permission or data regression fails the run).",
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
@click.option(
    "--live",
    is_flag=True,
    help="Collect from Microsoft Graph (or --base-url) into a temporary snapshot first; takes the "
    "options of 'graphlattice collect'.",
)
@_live_options
def assess(
    snapshot: Path | None,
    demo: bool,
    fmt: str,
    output: Path | None,
    html_path: Path | None,
    fail_on: str | None,
    fail_on_unknown: bool,
    config_path: Path | None,
    waivers_path: Path | None,
    risks: tuple[str, ...],
    color: str,
    live: bool,
    **conn: Any,
) -> None:
    """Assess SNAPSHOT (a folder of Microsoft Graph JSON), the demo tenant (--demo) or a live one (--live)."""
    from graphlattice.assess import run_assessment

    if int(demo) + int(snapshot is not None) + int(live) != 1:
        raise UsageError("give either a SNAPSHOT folder, --demo or --live (exactly one of them)")
    for target in (output, html_path):
        if target is not None:
            _check_writable(target)
    err = _stderr()
    with tempfile.TemporaryDirectory(prefix="graphlattice-demo-") as tmp:
        if live:
            snapshot = Path(tmp) / "live"
            _run_collection(conn, snapshot, resume=False, force=False)
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
        err.print(_labelled("note:", "yellow", note), soft_wrap=True)
    _emit(result.assessment, fmt, output, html_path, color)
    failed = False
    if fail_on:
        from graphlattice.checks.result import Severity

        failing = result.assessment.failing_at_or_above(Severity.parse(fail_on))
        if failing:
            err.print(
                f"{len(failing)} unwaived finding(s) at or above {fail_on}: failing as asked (--fail-on)."
            )
            failed = True
    if fail_on_unknown:
        unknown = result.assessment.unknown()
        if unknown:
            keys = ", ".join(f.key for f in unknown)
            err.print(
                f"{len(unknown)} finding(s) UNKNOWN ({keys}): failing as asked (--fail-on-unknown).",
                markup=False,
            )
            failed = True
    if failed:
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
            render_table(assessment, _console(force_terminal=force, no_color=color == "never"))
        else:
            console = _console(record=True, width=110, file=open(os.devnull, "w"))  # noqa: SIM115
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
    _console().print(table)


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
        click.echo(terminal_safe(text))
    else:
        _console().print(Markdown(text))


# ---- range ---------------------------------------------------------------------------------------------

_STATE_HELP = (
    "The range's folder (default: $GRAPHLATTICE_RANGE_HOME, else the per-user data folder). "
    "Use one folder per learner to run several ranges side by side."
)
_PERSON_PARAMS = ("user", "principal", "member")


def _state_option(fn: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--state", "state_dir", type=click.Path(path_type=Path, file_okay=False), help=_STATE_HELP
    )(fn)


def _open_range(state_dir: Path | None) -> Range:
    from graphlattice.range.engine import Range

    return Range.open(state_dir)


def _print_json(data: object) -> None:
    import orjson

    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def _expand_upn(rng: Range, value: str) -> str:
    """Let learners type a UPN's local part (``mia.hoffmann``) where a user is expected."""
    if "@" in value:
        return value
    matches = [p.upn for p in _people(rng) if p.upn.split("@")[0].casefold() == value.casefold()]
    return matches[0] if len(matches) == 1 else value


def _paragraphs(text: str) -> str:
    """Re-flow a YAML block (hard line breaks inside paragraphs) so the terminal wraps it."""
    return "\n\n".join(" ".join(part.split()) for part in text.strip().split("\n\n"))


def _people(rng: Range) -> list[Person]:
    from graphlattice.range.views import people

    return people(rng)


@cli.group("range")
def range_group() -> None:
    """The Range: rehearse an attack on an offline, simulated tenant and practise the cleanup.

    \b
    A session, as a trainer runs it:
      graphlattice range list
      graphlattice range start tap-persistence
      graphlattice range log
      graphlattice range act --list
      graphlattice range act delete-method user=mia.hoffmann method=ID
      graphlattice range verify
    """


@range_group.command("list")
@_state_option
def range_list(state_dir: Path | None) -> None:
    """List the built-in scenarios (and which one runs in the range folder, if any)."""
    from rich.table import Table

    from graphlattice.range.scenario import list_scenarios
    from graphlattice.range.store import RangeStore, default_state_dir

    table = Table(title="Range scenarios", title_justify="left")
    table.add_column("Scenario", no_wrap=True, style="bold")
    table.add_column("Title")
    table.add_column("ATT&CK")
    table.add_column("Hints", justify="right")
    for scenario in list_scenarios():
        table.add_row(scenario.id, scenario.title, ", ".join(scenario.attack), str(len(scenario.hints)))
    console = _console()
    console.print(table)
    folder = state_dir if state_dir is not None else default_state_dir()
    if RangeStore(folder).exists():
        console.print(f"Running in {folder}: {_open_range(folder).scenario_id}")


@range_group.command("start")
@click.argument("scenario_ref", metavar="SCENARIO")
@_state_option
@click.option("--force", is_flag=True, help="Replace a range that already runs in the folder.")
def range_start(scenario_ref: str, state_dir: Path | None, force: bool) -> None:
    """Seed SCENARIO's tenant (an id from 'range list' or a YAML file) and play the attacker's timeline."""
    from graphlattice.range.engine import Range
    from graphlattice.range.scenario import load_scenario
    from graphlattice.range.store import RangeStore, default_state_dir

    scenario = load_scenario(scenario_ref)
    folder = state_dir if state_dir is not None else default_state_dir()
    if RangeStore(folder).exists() and not force:
        raise UsageError(
            f"a range already runs in {folder}; use 'graphlattice range reset' to start it over, "
            "--force to replace it, or --state DIR for another folder"
        )
    with _progress(f"Playing the attacker's timeline of {scenario.id}"):
        rng = Range.start(folder, scenario)
    console = _console()
    console.print(
        Text.assemble((scenario.title, "bold"), f" ({scenario.id}; ATT&CK {', '.join(scenario.attack)})\n")
    )
    console.print(_paragraphs(scenario.narrative))
    if scenario.briefing:
        console.print("\n" + _paragraphs(scenario.briefing))
    console.print(
        f"\nThe attacker's timeline has been played; the clock is at {rng.now:%Y-%m-%d %H:%M} UTC. "
        f"You act as {scenario.defender_upn}. Range folder: {rng.state_dir}"
    )


@range_group.command("status")
@_state_option
@click.option("--user", "user", help="Also list this user's authentication methods (UPN).")
@click.option("--as", "as_upn", help="Read as this user (default: the scenario's defender).")
def range_status(state_dir: Path | None, user: str | None, as_upn: str | None) -> None:
    """Show the scenario, the clock, hints taken and the people of the tenant."""
    from rich.box import SIMPLE_HEAD
    from rich.table import Table

    from graphlattice.range.views import method_label, user_methods

    rng = _open_range(state_dir)
    scenario = rng.scenario
    console = _console()
    spent = sum(h.cost for h in scenario.hints[: rng.hints_used])
    console.print(Text.assemble((scenario.title, "bold"), f" ({scenario.id})"))
    console.print(
        f"Clock: {rng.now:%Y-%m-%d %H:%M} UTC · you act as {scenario.defender_upn} · "
        f"hints taken: {rng.hints_used} of {len(scenario.hints)} ({spent} points) · folder: {rng.state_dir}"
    )
    contain = sum(f.points for f in scenario.footholds)
    fix = sum(r.points for r in scenario.root_causes)
    console.print(
        f"Objectives: close the attacker's {len(scenario.footholds)} footholds ({contain} points) and fix "
        f"{len(scenario.root_causes)} root causes ({fix} points); check with 'graphlattice range verify'."
    )
    if scenario.briefing:
        console.print("\n" + _paragraphs(scenario.briefing))
    domain = scenario.tenant.domain
    table = Table(
        title=f"People (users of {domain} without the domain)", title_justify="left", box=SIMPLE_HEAD
    )
    table.add_column("Name")
    table.add_column("User", no_wrap=True)
    table.add_column("Roles")
    for person in _people(rng):
        name = person.name if person.enabled else f"{person.name} (disabled)"
        table.add_row(name, _short(person.upn, domain), ", ".join(person.roles) or "—")
    console.print(table)
    if user is not None:
        upn = _expand_upn(rng, user)
        reader = _expand_upn(rng, as_upn) if as_upn else scenario.defender_upn
        methods = user_methods(rng, upn, as_upn=reader)
        console.print()
        _hang(console, "", f"Authentication methods of {upn} (id, then what it is):", indent=0)
        for method in methods:
            created = str(method.get("createdDateTime") or "")[:16] + "Z"
            detail = method_label(method) + (f", created {created}" if len(created) > 1 else "")
            _hang(console, Text(f"  {method.get('id')}  ", style="bold"), detail, indent=6)


def _short(upn: object, domain: str) -> str:
    text = str(upn or "")
    return text[: -len(domain) - 1] if domain and text.casefold().endswith("@" + domain.casefold()) else text


def _when(stamp: object) -> str:
    text = str(stamp or "")
    return f"{text[5:10]} {text[11:19]}" if len(text) >= 19 else text


def _record_line(kind: str, record: dict[str, Any], domain: str) -> tuple[str, str, str, bool]:
    """(time, what happened, who / from where / on whom / result, succeeded) for one log record; user names
    without the tenant's domain."""
    if kind == "audit":
        by = record.get("initiatedBy") or {}
        user = by.get("user") or {}
        who = user.get("userPrincipalName") or (by.get("app") or {}).get("displayName") or ""
        targets = ", ".join(
            _short(t.get("userPrincipalName") or t.get("displayName") or t.get("id"), domain)
            for t in record.get("targetResources") or []
        )
        what = str(record.get("activityDisplayName"))
        reason = str(record.get("resultReason") or "")
        if reason and reason not in ("Successfully completed reset.",):
            what += f": {reason}"
        result = str(record.get("result") or "")
        parts = [
            f"by {_short(who, domain)}" if who else "",
            f"from {user.get('ipAddress')}" if user.get("ipAddress") else "",
        ]
        parts.append(f"on {targets}" if targets else "")
        details = " ".join(p for p in parts if p)
        return (
            _when(record.get("activityDateTime")),
            what,
            f"{details}; {result}".lstrip("; "),
            result == "success",
        )
    location = record.get("location") or {}
    code = (record.get("status") or {}).get("errorCode")
    methods = ", ".join(str(d.get("authenticationMethod")) for d in record.get("authenticationDetails") or [])
    where = f"{record.get('ipAddress') or ''} {location.get('countryOrRegion') or ''}".strip()
    details = _short(record.get("userPrincipalName"), domain) + (f" from {where}" if where else "")
    result = "success" if code == 0 else f"failure {code}"
    return (
        _when(record.get("createdDateTime")),
        f"Sign-in ({methods}) to {record.get('appDisplayName')}",
        f"{details}; {result}",
        code == 0,
    )


@range_group.command("log")
@_state_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--kind", type=click.Choice(["audit", "signin", "all"]), default="all", show_default=True)
@click.option("--as", "as_upn", help="Read as this user; Entra's rules on who may read logs apply.")
def range_log(state_dir: Path | None, fmt: str, kind: str, as_upn: str | None) -> None:
    """The audit and sign-in records so far, oldest first.

    With --format json: Graph JSON, {"value": [...]} for one --kind, or {"directoryAudits": [...],
    "signIns": [...]} for --kind all. As text: one record per entry, what happened on its first line and
    who, from where, on whom and the result below it, so that no name or address is ever cut.
    """
    from graphlattice.range.views import read_records

    rng = _open_range(state_dir)
    reader = _expand_upn(rng, as_upn) if as_upn else rng.scenario.defender_upn
    found = read_records(rng, kind, as_upn=reader)  # type: ignore[arg-type]
    if fmt == "json":
        if kind == "audit":
            _print_json(
                {
                    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
                    "value": found["directoryAudits"],
                }
            )
        elif kind == "signin":
            _print_json(
                {
                    "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
                    "value": found["signIns"],
                }
            )
        else:
            _print_json(found)
        return
    domain = rng.scenario.tenant.domain
    rows = [
        (r.get("activityDateTime"), _record_line("audit", r, domain))
        for r in found.get("directoryAudits", [])
    ]
    rows += [(r.get("createdDateTime"), _record_line("signin", r, domain)) for r in found.get("signIns", [])]
    rows.sort(key=lambda row: str(row[0]))
    console = _console()
    _hang(
        console,
        "",
        f"Range log: {len(rows)} records, oldest first (UTC; users of {domain} without the domain)",
        indent=0,
    )
    for _, (when, what, details, ok) in rows:
        head = Text(f"{when}  ", style="" if ok else "red")
        _hang(console, head, what, indent=head.cell_len)
        _hang(console, " " * head.cell_len, details, indent=head.cell_len)


@range_group.command("hint")
@_state_option
@click.option(
    "--list",
    "list_only",
    is_flag=True,
    help="Show the hints already taken again (free) without taking a new one.",
)
def range_hint(state_dir: Path | None, list_only: bool) -> None:
    """Take the next hint (it costs the points shown); hints already taken are shown first, free."""
    rng = _open_range(state_dir)
    hints = rng.scenario.hints
    console = _console()

    def show(number: int, note: str) -> None:
        hint = hints[number - 1]
        console.print(Text.assemble((f"Hint {number} of {len(hints)}", "bold"), f" ({note})"))
        for paragraph in _paragraphs(hint.text).split("\n\n"):
            _hang(console, "", paragraph, indent=0)

    for number in range(1, rng.hints_used + 1):
        show(number, f"taken earlier, shown again for free; it cost {hints[number - 1].cost} points")
        console.print()
    if list_only:
        if rng.hints_used < len(hints):
            _stderr().print(
                f"{rng.hints_used} of {len(hints)} hints taken; 'graphlattice range hint' takes the next "
                f"(costs {hints[rng.hints_used].cost} points)."
            )
        return
    if rng.hints_used >= len(hints):
        _stderr().print(f"No more hints: all {len(hints)} have been taken.")
        return
    taken = rng.use_hint()
    show(taken, f"costs {hints[taken - 1].cost} points")


@range_group.command("reset")
@_state_option
def range_reset(state_dir: Path | None) -> None:
    """Start the scenario over: re-seed the tenant and replay the attacker's timeline exactly.

    Works on a damaged folder too (a truncated state, a missing seed): the scenario starts over."""
    from graphlattice.range.engine import Range

    with _progress("Replaying the attacker's timeline"):
        rng = Range.reset_folder(state_dir)
    _stderr().print(
        f"Range reset: {rng.scenario_id} starts over; the clock is at {rng.now:%Y-%m-%d %H:%M} UTC, "
        "no hints taken."
    )


def _parse_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"parameters are key=value pairs, e.g. user=mia.hoffmann (got {pair!r})")
        if key in params:
            raise UsageError(f"parameter {key!r} is given twice")
        params[key] = value
    return params


def _print_actions(fmt: str) -> None:
    """Every action and every parameter (optional ones in brackets), one block per action."""
    from graphlattice.range.actionspec import catalog

    actions = catalog()
    if fmt == "json":
        _print_json({"actions": actions})
        return
    console = _console()
    _hang(
        console,
        "",
        "Range actions: graphlattice range act NAME key=value ... [--as UPN]; optional parameters are "
        "in [brackets]; --format json lists them as data.",
        indent=0,
    )
    for action in actions:
        console.print()
        _hang(console, Text(action["name"], style="bold"), f": {action['help']}", indent=2)
        rows = []
        for param in action["params"]:
            shown = f"{param['name']}={'CHOICE' if param['choices'] else param['type'].upper()}"
            text = param["help"] or "—"
            if param["choices"]:
                text += f" (one of: {', '.join(param['choices'])})"
            rows.append((shown if param["required"] else f"[{shown}]", text))
        column = max((len(shown) for shown, _ in rows), default=0) + 4
        for shown, text in rows:
            _hang(console, f"  {shown}".ljust(column), text, indent=column)
        if not rows:
            console.print("  (no parameters)")


@range_group.command("act", context_settings={"ignore_unknown_options": False})
@click.argument("action", required=False)
@click.argument("pairs", nargs=-1, metavar="[KEY=VALUE]...")
@_state_option
@click.option("--as", "as_upn", help="Act as this user (default: the scenario's defender).")
@click.option("--list", "list_actions", is_flag=True, help="List every action and all its parameters.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the action's result, or with --list the action catalogue.",
)
def range_act(
    action: str | None,
    pairs: tuple[str, ...],
    state_dir: Path | None,
    as_upn: str | None,
    list_actions: bool,
    fmt: str,
) -> None:
    """Carry out ACTION as an admin (or user) of the range, with Entra's rules; see --list."""
    if list_actions:
        _print_actions(fmt)
        return
    if action is None:
        raise UsageError("name an action (see 'graphlattice range act --list')")
    from graphlattice.range.actionspec import ACTIONS, describe_problem

    if action not in ACTIONS:
        problem = describe_problem(action, {})
        raise UsageError(problem[0] if problem else f"unknown action {action!r}")
    params = _parse_pairs(pairs)
    rng = _open_range(state_dir)
    for key in _PERSON_PARAMS:
        if key in params:
            params[key] = _expand_upn(rng, params[key])
    actor = _expand_upn(rng, as_upn) if as_upn else rng.scenario.defender_upn
    result = rng.act(action, params, actor=actor)
    if fmt == "json":
        _print_json({"message": result.message, "data": result.data, "records": result.records})
        return
    console = _console()
    console.print(result.message)
    for key in ("session", "code", "id", "request", "method"):
        value = result.data.get(key)
        if isinstance(value, str) and value:
            console.print(f"  {key}: {value}")


@range_group.command("verify")
@_state_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 while the attacker is still in (for scripts and class dashboards); default: always 0.",
)
def range_verify(state_dir: Path | None, fmt: str, exit_code: bool) -> None:
    """Replay every attacker foothold (read-only) and judge containment, root cause and collateral."""
    from graphlattice.range.verify import verify

    rng = _open_range(state_dir)
    verdict = verify(rng)
    if fmt == "json":
        _print_json(verdict.to_json())
    else:
        _print_verdict(rng, verdict)
    if exit_code and not verdict.contained:
        sys.exit(1)


def _print_verdict(rng: Range, verdict: Verdict) -> None:
    """The verdict as text that fits the terminal (80 columns and up): marks, then wrapped details."""
    console = _console()
    scenario = rng.scenario
    if verdict.contained:
        _hang(
            console,
            Text("CONTAINED", style="bold green"),
            ": none of the attacker's footholds works any more.",
            indent=2,
        )
    else:
        held = sum(1 for f in verdict.footholds if f.attacker_still_in)
        _hang(
            console,
            Text("ATTACKER STILL IN", style="bold red"),
            f": {held} of {len(verdict.footholds)} footholds still work.",
            indent=2,
        )
    console.print("\nContainment", style="bold")
    for f in verdict.footholds:
        mark = (
            Text("  ✗ still works  ", style="red")
            if f.attacker_still_in
            else Text("  ✓ closed  ", style="green")
        )
        _hang(console, mark, f"{f.id}: {f.description}", indent=4)
        for line in f.evidence:
            _hang(console, "      ", line, indent=8)
    console.print("\nRoot cause", style="bold")
    for r in verdict.root_cause:
        mark = Text("  ✓ fixed  ", style="green") if r.fixed else Text("  ✗ open  ", style="yellow")
        _hang(console, mark, f"{r.id}: {r.detail}", indent=4)
    if verdict.collateral:
        console.print("\nCollateral damage", style="bold")
        for c in verdict.collateral:
            _hang(console, Text(f"  -{scenario.collateral_penalty}  ", style="red"), c.detail, indent=4)
    console.print()
    _hang(
        console,
        Text.assemble((f"Score: {verdict.score}", "bold"), " "),
        f"of 100 ({verdict.sheet.explain()})",
        indent=2,
    )


@range_group.command("export")
@click.argument("out_dir", type=click.Path(path_type=Path))
@_state_option
@click.option("--force", is_flag=True, help="Write into OUT_DIR even if it is not empty.")
def range_export(out_dir: Path, state_dir: Path | None, force: bool) -> None:
    """Write the tenant as a snapshot folder plus directoryAudits.jsonl and signIns.jsonl."""
    from graphlattice.range.views import export_range

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise UsageError(f"{out_dir} is not empty; use --force to overwrite its snapshot files")
    rng = _open_range(state_dir)
    export_range(rng, out_dir)
    _stderr().print(f"Range exported to {out_dir.resolve()}; assess it with: graphlattice assess {out_dir}")


@range_group.command("serve")
@_state_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0 picks a free port."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep the loopback default unless learners connect from other machines.",
)
@click.option(
    "--throttle",
    is_flag=True,
    help="Apply Microsoft Graph's documented throttling budgets (429s, Retry-After).",
)
def range_serve(state_dir: Path | None, port: int, host: str, throttle: bool) -> None:
    """Serve the range as a Microsoft Graph endpoint (/v1.0 and /beta) for any Graph client or SDK.

    \b
    Prints the base URL; every request needs a token from 'range token':
      graphlattice range serve --port 8000
      TOKEN=$(graphlattice range token --as noor.haddad | tail -n 1)
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/v1.0/users
    Writes (create a TAP, delete a method, revoke sessions ...) are Range actions: journaled, logged, and
    visible in 'range log'. What is served: docs/graph-parity.md.
    """
    from graphlattice.server.serve import run

    _open_range(state_dir)  # a clear error before binding when there is no range
    err = _stderr()
    if host not in ("127.0.0.1", "::1", "localhost"):
        err.print(
            f"warning: listening on {host}: anyone who can reach it and holds a token of this range can act "
            "as that principal"
        )

    def announce(url: str) -> None:
        sys.stdout.write(f"{url}/v1.0\n")
        sys.stdout.flush()
        folder = f" --state {state_dir}" if state_dir is not None else ""
        err.print(
            f"Range Graph endpoint: {url}/v1.0 (beta: {url}/beta)"
            + (" with Graph's throttling budgets" if throttle else "")
            + f". Tokens: graphlattice range token --as UPN{folder}. Ctrl+C stops it."
        )

    try:
        run(state_dir, host=host, port=port, throttle=throttle, announce=announce)
    except KeyboardInterrupt:
        err.print("stopped")


@range_group.command("token")
@_state_option
@click.option("--as", "as_upn", help="A user of the range (UPN or its local part): a delegated token.")
@click.option("--app", "app_id", help="A service principal of the range (appId or object id): an app token.")
def range_token(state_dir: Path | None, as_upn: str | None, app_id: str | None) -> None:
    """Print a bearer token for the range's Graph endpoint (on the last line of the output).

    A user's token acts with that user's Entra roles; an application's with the Microsoft Graph
    application permissions its service principal holds. Tokens are signed with a secret kept in the range's
    folder: the same principal always gets the same token.
    """
    from graphlattice.range.store import default_state_dir
    from graphlattice.server.service import range_token as sign

    if (as_upn is None) == (app_id is None):
        raise UsageError("name the principal: --as UPN (a user) or --app APPID (a service principal)")
    token, principal = sign(state_dir, user=as_upn, app=app_id)
    if principal.kind == "user":
        who = f"user {principal.name} (delegated)"
    else:
        who = f"application {principal.name} ({principal.app_id})"
    folder = state_dir if state_dir is not None else default_state_dir()
    _stderr().print(f"Bearer token for {who} in {folder}:", soft_wrap=True)
    sys.stdout.write(token + "\n")
    sys.stdout.flush()


# ---- collect -------------------------------------------------------------------------------------------


@cli.command()
@_live_options
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), help="Snapshot folder to write."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run; finished collections are kept.")
@click.option("--force", is_flag=True, help="Start over in a folder that is not empty.")
@click.option(
    "--permissions",
    "show_permissions",
    is_flag=True,
    help="Print the read-only permissions each collection needs, and exit.",
)
@click.option(
    "--fail-on-error",
    is_flag=True,
    help=f"Exit {EXIT_COLLECTION_FAILED} if a collection could not be read (the snapshot is written anyway).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="For --permissions."
)
def collect(
    out_dir: Path | None,
    resume: bool,
    force: bool,
    show_permissions: bool,
    fail_on_error: bool,
    fmt: str,
    **conn: Any,
) -> None:
    """Read a tenant from Microsoft Graph (read-only) into a snapshot folder that 'assess' reads.

    \b
    An app registration with read-only application permissions (see --permissions):
      graphlattice collect --tenant contoso.onmicrosoft.com --client-id APP_ID \\
          --client-secret-env GRAPH_SECRET --out snapshot/
    The Range's Graph-compatible endpoint (graphlattice range serve; its clock is simulated, so
    give the snapshot the time 'range status' shows):
      graphlattice collect --base-url http://127.0.0.1:8000 \\
          --token-command 'graphlattice range token --as noor.haddad' \\
          --collected-at 2026-11-16T08:30:00Z --out snapshot/

    Pages stream to disk, a collection appears when it is complete, and --resume continues an
    interrupted run. A collection that cannot be read is recorded in manifest.json with the permission
    to grant, and the risks that need it show UNKNOWN; --fail-on-error makes the run exit 4 then.
    """
    if show_permissions:
        _print_permissions(fmt)
        return
    if out_dir is None:
        raise UsageError("--out DIR is required (the snapshot folder to write)")
    if resume and force:
        raise UsageError("--resume and --force contradict each other: choose one")
    result = _run_collection(conn, out_dir, resume=resume, force=force)
    err = _stderr()
    err.print(
        f"Snapshot written to {out_dir.resolve()}; assess it with: graphlattice assess {out_dir}",
        markup=False,
    )
    if fail_on_error and result.errors:
        err.print(
            f"{len(result.errors)} collection(s) could not be read ({', '.join(result.errors)}): "
            f"exiting {EXIT_COLLECTION_FAILED} as asked (--fail-on-error).",
            markup=False,
        )
        sys.exit(EXIT_COLLECTION_FAILED)


def _print_permissions(fmt: str) -> None:
    from rich.table import Table

    from graphlattice.collect.options import permission_rows, permission_summary

    rows, summary = permission_rows(), permission_summary()
    if fmt == "json":
        _print_json({"collections": rows, "permissions": summary})
        return
    table = Table(title="Read-only permissions the collector needs", title_justify="left")
    table.add_column("Permission (application)", no_wrap=True)
    table.add_column("Collections it reads (--format json: the Graph requests)")
    for item in summary:
        reads = []
        for row in rows:
            if item["permission"] in row["permissions"]:
                notes = [n for n in ("optional" if row["optional"] else "", row["licence"]) if n]
                reads.append(row["collection"] + (f" ({'; '.join(notes)})" if notes else ""))
        table.add_row(str(item["permission"]), ", ".join(reads))
    console = _console()
    console.print(table)
    console.print("Microsoft Graph appRole ids, for the app registration's manifest:")
    for item in summary:
        console.print(
            f"  {item['permission']}: {item['id'] or '(look it up in your tenant)'}", highlight=False
        )


# ---- detect --------------------------------------------------------------------------------------------


@cli.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "html")),
    default="table",
    show_default=True,
    help="Output format; json and html go to stdout alone.",
)
@click.option("--since", help="Report only incidents ending at or after this ISO time (UTC unless it says).")
@click.option(
    "--db", type=click.Path(path_type=Path), help="Keep the normalised logs in this DuckDB file across runs."
)
@click.option(
    "--parquet", "parquet_dir", type=click.Path(path_type=Path), help="Also export the event tables here."
)
@click.option(
    "--snapshot",
    "snapshot_dir",
    type=click.Path(path_type=Path),
    help="Tenant snapshot to take privileged users from (else: role-assignment audit records).",
)
@click.option(
    "--tickets",
    "tickets_path",
    type=click.Path(path_type=Path),
    help="CSV of tickets (ticket, user, time): enables tap-issued-without-ticket.",
)
@click.option("--working-hours", default="08:00-18:00", show_default=True, help="Working hours, HH:MM-HH:MM.")
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of the working hours (IANA).")
@click.option("--window-minutes", type=int, help="Replace the time window of every sequence rule.")
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES, case_sensitive=False),
    help="Exit 1 if an incident is at or above this level.",
)
@click.option(
    "--skip-bad-lines", is_flag=True, help="Skip unreadable records (and count them) instead of stopping."
)
@click.option(
    "--engine",
    type=click.Choice(("duckdb", "spark")),
    default="duckdb",
    show_default=True,
    help="Where the rules run: DuckDB, or Apache Spark over the event tables in Parquet (the spark extra).",
)
@click.option(
    "--spark-master",
    help="Spark master URL for --engine spark (default local[*]); a cluster needs --parquet on shared disk.",
)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Also run the Sigma rules in these files or folders (e.g. SigmaHQ's Azure rules); rules that "
    "cannot run here are listed with the reason (repeatable).",
)
def detect(
    logs: tuple[Path, ...],
    fmt: str,
    since: str | None,
    db: Path | None,
    parquet_dir: Path | None,
    snapshot_dir: Path | None,
    tickets_path: Path | None,
    working_hours: str,
    timezone: str,
    window_minutes: int | None,
    fail_on: str | None,
    skip_bad_lines: bool,
    engine: str,
    spark_master: str | None,
    rule_paths: tuple[Path, ...],
) -> None:
    """Run the detection rules over audit and sign-in LOGS: files or folders of Graph JSON, Sentinel /
    Log Analytics exports or diagnostic-settings records (files in a folder that are no log are skipped).

    \b
    Example, on the demo tenant's logs:
      graphlattice demo generate demo
      graphlattice detect demo/directoryAudits.jsonl demo/signIns.jsonl
      graphlattice detect demo/directoryAudits.jsonl demo/signIns.jsonl --engine spark
      graphlattice detect export/ --rules sigma/rules/cloud/azure
    """
    from graphlattice.detect import DetectSettings, parse_since, parse_working_hours, run_detection
    from graphlattice.detect.render import render_html, render_json, render_table

    start, end = parse_working_hours(working_hours)
    settings = DetectSettings(
        window_minutes=window_minutes,
        working_start=start,
        working_end=end,
        timezone=timezone,
        since=parse_since(since) if since else None,
    )
    with _progress("Detecting") as step:
        run = run_detection(
            list(logs),
            settings=settings,
            db=db,
            parquet_dir=parquet_dir,
            snapshot_dir=snapshot_dir,
            tickets_path=tickets_path,
            skip_bad_lines=skip_bad_lines,
            progress=lambda what: step.advance(f"Detecting: {what}"),
            engine=engine,
            spark_master=spark_master,
            rules=rule_paths,
        )
    err = _stderr()
    for note in run.notes:
        err.print(_labelled("note:", "yellow", note), soft_wrap=True)
    for warning in run.warnings:
        err.print(_labelled("warning:", "bold yellow", warning), soft_wrap=True)
    if fmt == "table":
        render_table(run, _console())
    else:
        data = render_json(run) if fmt == "json" else render_html(run).encode("utf-8")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    failing = run.at_or_above(fail_on) if fail_on else []
    if failing:
        err.print(f"{len(failing)} incident(s) at or above {fail_on}: failing as asked (--fail-on).")
        sys.exit(1)


# ---- respond (apply an incident's containment plan) ------------------------------------------------------


@cli.command()
@click.argument("incident_file", metavar="INCIDENT", type=click.Path(path_type=Path))
@click.option("--incident", "choose", metavar="N|ID", help="Which incident of the file: its number or id.")
@click.option("--rule", metavar="ID", help="The incident of this rule.")
@click.option(
    "--method-id",
    "method_ids",
    multiple=True,
    metavar="ID",
    help="The method to delete when several could be the one registered (repeatable; candidates are listed).",
)
@click.option("--apply", is_flag=True, help="Make the calls (after confirming); without it, only show them.")
@click.option("--yes", is_flag=True, help="Apply without asking (required when there is no terminal).")
@click.option(
    "--new-password-env",
    metavar="VAR",
    help="For a plan that resets a password: the new one, from environment variable VAR (default: Entra "
    "generates one, which is not shown).",
)
@click.option(
    "--new-password-file",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="As --new-password-env, from the first line of FILE ('-': standard input, then --yes is needed).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file naming the break-glass accounts (breakGlassAccounts; default: ./graphlattice.yaml "
    "if present). They are never acted on unless --allow-break-glass names them.",
)
@click.option(
    "--allow-break-glass",
    "allow_break_glass",
    multiple=True,
    metavar="UPN|ID",
    help="Act on this break-glass account after all (repeatable; --yes does not cover it).",
)
@_sign_in_options
def respond(
    incident_file: Path,
    choose: str | None,
    rule: str | None,
    method_ids: tuple[str, ...],
    apply: bool,
    yes: bool,
    new_password_env: str | None,
    new_password_file: Path | None,
    config_path: Path | None,
    allow_break_glass: tuple[str, ...],
    **conn: Any,
) -> None:
    """Apply an incident's containment plan (from 'detect --format json') through Microsoft Graph.

    \b
    Derives the plan from the incident's facts (a file whose plan says anything else is refused),
    resolves the method ids from the user's methods, prints the exact Graph calls, and stops there
    unless --apply; then asks (or --yes), makes the calls in order, and reads back what changed:
      graphlattice detect logs/*.jsonl --format json > incidents.json
      graphlattice respond incidents.json --rule tap-bootstrapped-persistence \\
          --base-url http://127.0.0.1:8000 --token-command 'graphlattice range token --as noor.haddad'
    Sign in as for 'graphlattice collect', with an identity that may change authentication methods;
    a password reset needs a signed-in administrator (Graph has no application permission for it).
    """
    from graphlattice.collect.options import LiveOptions, token_provider
    from graphlattice.detect.respond import load_incident
    from graphlattice.detect.respond import respond as run_response

    from_stdin = [new_password_file == Path("-"), conn.get("token_file") == Path("-")]
    if all(from_stdin):
        raise UsageError("standard input can hold the token or the new password, not both ('-' given twice)")
    reads_stdin = any(from_stdin)
    if apply and not yes and (reads_stdin or not sys.stdin.isatty()):
        raise UsageError("not applying: no terminal to confirm on; add --yes to apply without asking")
    password = _respond_password(new_password_env, new_password_file)
    guard = _respond_guard(config_path, allow_break_glass)
    incident = load_incident(incident_file, choose=choose, rule=rule)
    live = LiveOptions(**conn)
    run_response(
        incident,
        base_url=live.endpoint,
        tokens=token_provider(live),
        apply=apply,
        echo=lambda line: click.echo(terminal_safe(line)),
        confirm=lambda: yes or click.confirm("Make these calls?", default=False, err=True),
        method_ids=method_ids,
        new_password=password,
        guard=guard,
        source=str(incident_file),
    )


def _respond_password(env: str | None, path: Path | None) -> str | None:
    """The new password for a reset, from an environment variable or a file (never an option's value)."""
    if env and path:
        raise UsageError("give the new password one way: --new-password-env or --new-password-file")
    if env:
        password = os.environ.get(env)
        if not password:
            raise UsageError(f"environment variable {env} is not set (it holds the new password)")
        return password
    if path is None:
        return None
    from graphlattice.collect.auth import read_secret

    return read_secret(path, "--new-password-file", "new password")


def _respond_guard(config_path: Path | None, allowed: tuple[str, ...]) -> Any:
    """The break-glass accounts from the settings (--config, else ./graphlattice.yaml when present)."""
    from graphlattice.checks.config import load_config
    from graphlattice.detect.respond import Guard

    path = config_path
    if path is None and Path("graphlattice.yaml").is_file():
        path = Path("graphlattice.yaml")
    if path is None:
        return Guard(allowed=allowed)
    if not path.exists():
        raise UsageError(f"--config {path}: no such settings file")
    config = load_config(path)
    return Guard(config.break_glass, str(path), allowed)


# ---- rules (the detection rule pack: list, validate, export) ---------------------------------------------


@cli.group("rules")
def rules_group() -> None:
    """The detection rule pack: list it, validate rule files, export it to SIEM query languages.

    \b
      graphlattice rules list
      graphlattice rules validate my-rules/
      graphlattice rules export --to kusto --rule tap-bootstrapped-persistence
      graphlattice rules export --to splunk --output build/splunk
    """


_RULES_OPTION = click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Rule files or folders to use instead of the built-in pack (repeatable).",
)


def _load_rules(rule_paths: tuple[Path, ...]) -> Any:
    from graphlattice.detect.pack import load_pack

    for path in rule_paths:
        if not path.exists():
            raise UsageError(f"no such rule file or folder: {path}")
    return load_pack(list(rule_paths) if rule_paths else None)


@rules_group.command("list")
@_RULES_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_list(rule_paths: tuple[Path, ...], fmt: str) -> None:
    """List the alerting rules of the pack (sequences with their steps)."""
    from graphlattice.detect.pack import attack_techniques

    pack = _load_rules(rule_paths)
    rows = []
    for name in pack.alerting:
        loaded = pack[name]
        steps = [ref.rule.name for ref in loaded.sigma.referenced_rules] if loaded.is_correlation else []
        rows.append(
            {
                "id": name,
                "level": loaded.level,
                "kind": "sequence" if loaded.is_correlation else "detection",
                "title": loaded.title,
                "attack": attack_techniques(loaded.tags),
                "steps": steps,
                "file": str(loaded.path),
            }
        )
    if fmt == "json":
        _print_json({"rules": rows})
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("Rule", no_wrap=True)
    for column in ("Level", "Kind", "ATT&CK", "Title"):
        table.add_column(column)
    for row in rows:
        steps = [str(s) for s in row["steps"]]
        rule = "\n".join([str(row["id"]), *(f"  {i}. {s}" for i, s in enumerate(steps, start=1))])
        attack = ", ".join(str(a) for a in row["attack"])
        table.add_row(rule, str(row["level"]), str(row["kind"]), attack, str(row["title"]))
    _console().print(table)


@rules_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def rules_validate(paths: tuple[Path, ...]) -> None:
    """Check Sigma rule files (default: the built-in pack) with pySigma and the detect loader.

    Every problem is one line, FILE:LINE: message; the exit status is 3 when there is any.
    """
    from graphlattice.detect.validate import validate_rule_files

    for path in paths:
        if not path.exists():
            raise UsageError(f"no such rule file or folder: {path}")
    report = validate_rule_files(list(paths) or None)
    err = _stderr()
    for problem in report.problems:
        click.echo(terminal_safe(str(problem), single_line=True))
    if report.problems:
        err.print(f"{len(report.problems)} problem(s) in {report.files} file(s)")
        sys.exit(3)
    err.print(f"{report.rules} rule(s) in {report.files} file(s): no problems")


@rules_group.command("export")
@click.option(
    "--to",
    "backend",
    required=True,
    help="kusto (Microsoft Sentinel / Azure Data Explorer), splunk, databricks or elasticsearch.",
)
@_RULES_OPTION
@click.option("--rule", "rule_ids", multiple=True, help="Export only this rule (repeatable; default: all).")
@click.option(
    "--community",
    "community_dir",
    type=click.Path(path_type=Path),
    help="Also export SigmaHQ Azure rules from this folder, mapped onto the canonical fields.",
)
@click.option(
    "--output",
    default="-",
    show_default=True,
    help="Folder to write one file per rule into, or - for stdout.",
)
@click.option("--working-hours", default="08:00-18:00", show_default=True, help="Working hours, HH:MM-HH:MM.")
@click.option("--timezone", default="UTC", show_default=True, help="Time zone of the working hours (IANA).")
@click.option("--window-minutes", type=int, help="Replace the time window of every sequence rule.")
@click.option(
    "--lookback-days", type=int, default=30, show_default=True, help="How far back 'seen before' looks (KQL)."
)
def rules_export(
    backend: str,
    rule_paths: tuple[Path, ...],
    rule_ids: tuple[str, ...],
    community_dir: Path | None,
    output: str,
    working_hours: str,
    timezone: str,
    window_minutes: int | None,
    lookback_days: int,
) -> None:
    """Convert the rule pack to a SIEM's query language with pySigma backends.

    Each query names the target's own columns and starts with a header saying what of the rule it keeps and
    what it cannot (see docs/detection-export.md). A rule that cannot be expressed without changing what it
    alerts on is not exported; stderr says which and why.

    \b
      graphlattice rules export --to kusto --rule tap-bootstrapped-persistence > tap.kql
      graphlattice rules export --to elasticsearch --output build/elastic   # one rule per file
    """
    from graphlattice.detect import DetectSettings, parse_working_hours
    from graphlattice.detect.export import export_loaded, export_rules, resolve_backend

    name = resolve_backend(backend)
    start, end = parse_working_hours(working_hours)
    if lookback_days <= 0:
        raise UsageError("--lookback-days must be positive")
    settings = DetectSettings(
        window_minutes=window_minutes,
        working_start=start,
        working_end=end,
        timezone=timezone,
        lookback_days=lookback_days,
    )
    pack = _load_rules(rule_paths)
    result = export_rules(name, pack, list(rule_ids) or None, settings)
    exported = list(result.rules)
    skipped = list(result.skipped)
    if community_dir is not None:
        from graphlattice.detect.export import Skipped
        from graphlattice.detect.pipeline import load_community_rules, sigma_rule_files

        if not community_dir.is_dir():
            raise UsageError(f"--community must be a folder of Sigma rules: {community_dir}")
        community = load_community_rules(sigma_rule_files([community_dir]))
        runnable = [c.rule for c in community if c.rule is not None]
        skipped += [Skipped(c.path.name, str(c.problem)) for c in community if c.rule is None]
        more = export_loaded(name, runnable, settings)
        exported += more.rules
        skipped += more.skipped
    err = _stderr()
    for item in skipped:
        err.print(_labelled("not exported:", "yellow", f"{item.name}: {item.reason}"), soft_wrap=True)
    if not exported:
        reason = f" ({skipped[0].reason})" if skipped else ""
        raise UsageError(f"no rule could be exported to {name}{reason}")
    if output == "-":
        separator = "" if name == "elasticsearch" else "\n"
        sys.stdout.write(separator.join(rule.text for rule in exported))
        sys.stdout.flush()
        return
    directory = Path(output)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--output must be a folder (or -): {directory} is a file")
    for rule in exported:
        _write_atomic(directory / rule.filename, rule.text.encode("utf-8"))
    err.print(f"wrote {len(exported)} {name} quer{'y' if len(exported) == 1 else 'ies'} to {directory}")


# ---- entry point ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    err = _stderr()
    try:
        cli.main(args=argv, prog_name="graphlattice", standalone_mode=False)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    except click.ClickException as exc:
        err.print(_labelled("error:", "red", exc.format_message()), soft_wrap=True)
        sys.exit(exc.exit_code)
    except GraphLatticeError as exc:
        err.print(_labelled("error:", "red", str(exc)), soft_wrap=True)
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
            soft_wrap=True,
        )
        sys.exit(70)
