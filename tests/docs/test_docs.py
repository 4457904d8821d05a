"""The documentation in docs/ and the README: every link resolves inside the repository,
every page the code points at exists, and the reference pages name everything the code has
(each command option, each problem code and fix, each key of the report schema)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import click
import pytest

from migrate_tui.cli import cli
from migrate_tui.engine.model import ALL_FIXES, FIXES_BY_CODE

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _slug(heading: str) -> str:
    """A heading's anchor, as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", _text(path), flags=re.DOTALL)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, re.MULTILINE)}


def _tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / line for line in out.splitlines()]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    for match in LINK.finditer(_text(page)):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            where = path_part or page.name
            assert anchor in _anchors(resolved), f"{page.name}: no heading #{anchor} in {where}"


def test_the_readme_links_only_inside_the_repository() -> None:
    readme = _text(ROOT / "README.md")
    assert "../" not in readme
    assert "](docs/README.md)" in readme or "](docs/)" in readme


def test_nothing_in_the_repository_points_outside_it() -> None:
    me = Path(__file__).resolve()
    for path in _tracked():
        if path.resolve() == me or not path.is_file() or path.suffix not in (
                ".md", ".py", ".toml", ".json", ".tcss", ".sh", ".cfg", ".txt", ""):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        # spelled in pieces so that this file does not mention them either
        for needle in (".." + "/shared", "SPEC" + " §", "SPEC" + ".md", "OPENCLAW" + ".md"):
            assert needle not in text, f"{path.relative_to(ROOT)} mentions {needle}"


def test_every_page_the_code_points_at_exists() -> None:
    named: set[str] = set()
    for path in [*(ROOT / "migrate_tui").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        named.update(re.findall(r"docs/([\w.-]+\.(?:md|json))", _text(path)))
    assert {"formats.md", "problems.md", "guarantees.md", "cli.md", "store.md"} <= named
    missing = sorted(name for name in named if not (DOCS / name).is_file())
    assert not missing


def test_every_test_file_the_docs_cite_exists() -> None:
    for page in PAGES:
        for cited in re.findall(r"`(tests/[\w/.-]+\.py)`", _text(page)):
            assert (ROOT / cited).is_file(), f"{page.name} cites {cited}"


def test_cli_md_names_every_command_and_option() -> None:
    text = _text(DOCS / "cli.md")
    for name, command in cli.commands.items():
        if command.hidden:
            continue
        assert f"## `{name}`" in text, name
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    assert f"`{opt}" in text or f" {opt} " in text or f"{opt}]" in text, (name, opt)
    for code in range(7):
        assert f"| {code} |" in text


def test_problems_md_names_every_code_and_fix() -> None:
    text = _text(DOCS / "problems.md")
    for code, fixes in FIXES_BY_CODE.items():
        row = re.search(rf"^\| `{code}` \|.*$", text, re.MULTILINE)
        assert row, code
        for fix in fixes:
            assert f"`{fix}`" in row.group(0), (code, fix)
    for fix in ALL_FIXES:
        assert re.search(rf"^\| `{fix}` \|", text, re.MULTILINE), fix


def test_report_md_names_every_key_of_the_schema() -> None:
    schema = json.loads(_text(DOCS / "report.schema.json"))
    text = _text(DOCS / "report.md")
    for name, shape in schema["$defs"].items():
        for key in shape.get("properties", {}):
            assert re.search(rf"^\| `{key}` \|", text, re.MULTILINE), (name, key)
    for item in schema["$defs"]["cleanup"]["properties"]["kept"]["items"]["properties"]:
        assert f"`{item}`" in text


def test_the_docs_index_lists_every_page() -> None:
    index = _text(DOCS / "README.md")
    for page in DOCS.iterdir():
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_what_the_code_quotes_from_a_page_is_on_that_page() -> None:
    """A comment or docstring quoting a page (docs/guarantees.md: "…") quotes what it says."""

    def norm(text: str) -> str:
        return " ".join(text.replace("`", "").split())

    quoted = 0
    for path in [*(ROOT / "migrate_tui").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]:
        for match in re.finditer(r'docs/([\w.-]+\.md):? "([^"]+)"', _text(path)):
            page = DOCS / match.group(1)
            assert norm(match.group(2)) in norm(_text(page)), (path.name, match.group(2))
            quoted += 1
    assert quoted
