"""Text from outside GraphLattice, made safe to print on a terminal.

Display names, device names, log fields, scenario and rule texts, and the error messages a Graph endpoint
sends are chosen by whoever controls the tenant, the log, the file or the server. Printed raw, their control
characters are instructions to the terminal: ``ESC [2J`` clears the screen, ``ESC [8m`` hides what follows,
``ESC ]8;;URL`` turns text into a link to another site, ``ESC ]0;`` retitles the window, a carriage return
overwrites the line, and a right-to-left override (U+202E) makes ``gpj.exe`` read ``exe.jpg``. Invisible
format characters (zero-width spaces, Unicode tag characters) can hide text or make two different names
look the same.

:func:`terminal_safe` is the one place that decides what may reach a terminal: every such character is
shown as a visible escape in the ``\\uXXXX`` form (``\\U000XXXXX`` beyond the Basic Multilingual Plane), the
form JSON output uses too, so ``Mia<ESC>[2J`` prints as ``Mia\\u001b[2J`` and stays recognisable and
searchable. Escaped are: C0 controls (except tab and newline where line breaks are allowed), DEL and C1
controls, every Unicode format character (bidirectional marks, embeddings, overrides and isolates,
zero-width space, word joiner, byte order mark, tag characters, ...) except the zero-width joiner and
non-joiner that emoji and several scripts need, the line and paragraph separators, lone surrogates (which
cannot even be encoded) and the variation selectors supplement (invisible, and used to smuggle data).

:class:`SafeConsole` is a rich console that passes everything it prints through :func:`terminal_safe`
(strings before layout, so widths stay right; ``Text`` and anything else as a last line of defence), which
is what the command line prints with. Renderers that lay out untrusted text themselves call
:func:`terminal_safe` on each field first. HTML and JSON outputs keep the original text: HTML escapes it,
JSON encodes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Span, Text

__all__ = ["SafeConsole", "safe_rich_text", "terminal_safe"]

_FORMAT = (
    "\x7f-\x9f"  # DEL and C1 controls (U+009B is a one-character CSI)
    "\xad"  # soft hyphen
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"  # Arabic and Syriac format marks
    "\u180e"  # Mongolian vowel separator
    "\u200b\u200e\u200f"  # zero-width space, left-to-right and right-to-left marks (not ZWNJ/ZWJ)
    "\u2028-\u202e"  # line and paragraph separators, embeddings and overrides
    "\u2060-\u2064\u2066-\u206f"  # word joiner, invisible operators, isolates, deprecated format controls
    "\ufeff\ufff9-\ufffb"  # byte order mark, interlinear annotation
    "\ud800-\udfff"  # lone surrogates
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"  # tag characters
    "\U000e0100-\U000e01ef"  # variation selectors supplement
)
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f{_FORMAT}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f{_FORMAT}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def terminal_safe(text: str, *, single_line: bool = False) -> str:
    """``text`` with every character that could steer a terminal or hide text shown as ``\\uXXXX``.

    Tabs and newlines stay unless ``single_line`` (a value printed inside one line or one table cell,
    where a newline could forge another line)."""
    pattern = _UNSAFE_LINE if single_line else _UNSAFE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_escape, text)


def safe_rich_text(text: Text) -> Text:
    """A rich ``Text`` with :func:`terminal_safe` applied to its characters, its styles kept in place."""
    plain = text.plain
    if _UNSAFE.search(plain) is None:
        return text
    starts: list[int] = []  # where each original character begins in the new text
    pieces: list[str] = []
    at = 0
    for char in plain:
        starts.append(at)
        shown = terminal_safe(char)
        pieces.append(shown)
        at += len(shown)
    starts.append(at)
    end = len(plain)
    spans = [Span(starts[min(s.start, end)], starts[min(s.end, end)], s.style) for s in text.spans]
    return Text(
        "".join(pieces),
        style=text.style,
        justify=text.justify,
        overflow=text.overflow,
        no_wrap=text.no_wrap,
        end=text.end,
        tab_size=text.tab_size,
        spans=spans,
    )


class SafeConsole(Console):
    """A rich console that never lets :func:`terminal_safe`'s characters through.

    Strings are escaped before layout (tables and wrapping measure what is really printed); ``Text`` is
    escaped with its styles kept; any other segment a renderable yields is escaped as it goes out (control
    segments, rich's own cursor moves for live displays, are left alone)."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(terminal_safe(text), **options)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        if isinstance(renderable, Text):
            renderable = safe_rich_text(renderable)
        for segment in super().render(renderable, options):
            if segment.control is None and _UNSAFE.search(segment.text) is not None:
                segment = Segment(terminal_safe(segment.text), segment.style)
            yield segment
