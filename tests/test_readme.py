"""The README stays short and true: the two commands first, its Python runs (tests/test_docs.py runs every
```python block of the README and the docs pages), its headline figures are the benchmarks page's."""

from __future__ import annotations

import re

from tests._helpers import ROOT

README = (ROOT / "README.md").read_text()
BENCHMARKS = (ROOT / "docs" / "benchmarks.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_quick_start_is_exactly_make_demo_and_make_test():
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert blocks("sh")[0].split("\n")[:2] == ["make demo", "make test"]
    assert "```sh\nmake demo\nmake test\n```" in quick_start


def test_the_readme_fits_in_12_kb_and_the_two_commands_come_first():
    assert len(README.encode()) <= 12 * 1024
    first_block = README.index("```")
    assert README[first_block:].startswith("```sh\nmake demo\nmake test\n```")


def test_the_example_prints_what_its_comments_say(in_tmp, capsys):
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    commented = re.findall(r"# (\S.*)$", code, flags=re.MULTILINE)
    assert [line for line in out if line in commented] == out


def test_headline_figures_are_on_the_benchmarks_page():
    """Each figure in the README's headline table appears on the benchmarks page it links to."""
    table = README.split("## Headline figures", 1)[1].split("\n## ", 1)[0]
    figures = re.findall(
        r"`([^`]+)`", "\n".join(line for line in table.splitlines() if line.startswith("| "))
    )
    assert figures, "the headline table quotes its figures in backticks"
    missing = [f for f in figures if f not in BENCHMARKS]
    assert missing == []
    assert "docs/benchmarks.md" in table or "benchmarks/" in table
