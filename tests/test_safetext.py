"""What may reach a terminal: every control, format and invisible character is shown as ``\\uXXXX``."""

from __future__ import annotations

import io
import unicodedata

from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from graphlattice.safetext import SafeConsole, safe_rich_text, terminal_safe

# Characters that must be shown escaped: every control, format, separator and surrogate code point of this
# Python's Unicode database, except the few that text needs (tab and newline; the joiners emoji and several
# scripts are written with).
KEPT = {"\t", "\n", "\u200c", "\u200d"}
ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _must_escape() -> list[str]:
    return [
        chr(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) in ESCAPED_CATEGORIES and chr(code) not in KEPT
    ]


def test_every_control_and_format_character_is_escaped() -> None:
    for char in _must_escape():
        shown = terminal_safe(char)
        assert shown != char and shown.startswith("\\"), f"U+{ord(char):04X} passes through"
        assert all(unicodedata.category(c) not in ESCAPED_CATEGORIES for c in shown)


def test_ordinary_text_of_every_script_passes_unchanged() -> None:
    for code in range(0x20, 0x30000):
        char = chr(code)
        if unicodedata.category(char) in ESCAPED_CATEGORIES | {"Cn"}:
            continue  # unassigned here may be a format character in a newer Unicode: escaped too
        assert terminal_safe(char) == char, f"U+{code:04X} is escaped"
    for text in ("Mia Hoffmann", "Zoë Ørsted-Łukasiewicz", "محمد", "名前", "👩‍👩‍👧", "नमस्ते", "a\tb\nc"):
        assert terminal_safe(text) == text


def test_the_attacks_are_shown_not_obeyed() -> None:
    attacks = {
        "Mia\x1b[2J": "Mia\\u001b[2J",  # clear screen
        "a\x1b[8mhidden\x1b[0m": "a\\u001b[8mhidden\\u001b[0m",  # concealed text
        "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\": (
            "\\u001b]8;;https://evil.example/\\u001b\\click\\u001b]8;;\\u001b\\"
        ),  # OSC 8 link
        "\x1b]0;owned\x07": "\\u001b]0;owned\\u0007",  # window title
        "\x9b2J": "\\u009b2J",  # C1 CSI
        "report\u202egpj.exe": "report\\u202egpj.exe",  # right-to-left override
        "ad\u200bmin": "ad\\u200bmin",  # zero-width space
        "x\U000e0041\U000e0042": "x\\U000e0041\\U000e0042",  # tag characters
        "ok\rforged": "ok\\u000dforged",  # carriage return
        "lone \ud800": "lone \\ud800",  # a surrogate cannot even be encoded
    }
    for raw, shown in attacks.items():
        assert terminal_safe(raw) == shown
        assert terminal_safe(shown) == shown  # escaping is stable


def test_single_line_escapes_line_breaks_and_tabs_too() -> None:
    assert terminal_safe("a\nb\tc", single_line=True) == "a\\u000ab\\u0009c"
    assert terminal_safe("a\nb") == "a\nb"


def test_rich_text_keeps_its_styles_on_the_right_characters() -> None:
    text = Text.assemble(("\x1b[2J", "red"), ("name", "bold"))
    safe = safe_rich_text(text)
    assert safe.plain == "\\u001b[2Jname"
    assert [(safe.plain[s.start : s.end], s.style) for s in safe.spans] == [
        ("\\u001b[2J", "red"),
        ("name", "bold"),
    ]


def test_the_safe_console_escapes_strings_text_tables_and_markdown() -> None:
    out = io.StringIO()
    console = SafeConsole(file=out, width=80, markup=False, emoji=False, highlight=False)
    table = Table()
    table.add_column("Name")
    table.add_row("Mia\x1b[2J\u202e")
    console.print(table)
    console.print(Text("title \x1b]0;x\x07"))  # rich itself drops the BEL
    console.print("plain \x9b31m")
    console.print(Markdown("# Head \x1b[8m\n\n```\ncode \x1b[2J\n```\n"))
    printed = out.getvalue()
    assert not any(c in printed for c in "\x1b\x07\x9b\u202e")
    for shown in ("Mia\\u001b[2J\\u202e", "title \\u001b]0;x", "plain \\u009b31m", "code \\u001b[2J"):
        assert shown in printed
