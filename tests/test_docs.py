"""The docs never lie: every ```python block in README.md and docs/*.md runs, in order, per file."""

import linecache
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(path):
    return BLOCK.findall(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_doc_code_blocks_run(path, capsys):
    namespace = {"__name__": f"doc_{path.stem}"}
    for i, code in enumerate(blocks(path)):
        filename = f"{path.name}[block {i + 1}]"
        # Registered like a file, so pb.grad can read the source of functions defined here.
        linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
        try:
            exec(compile(code, filename, "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.name}, code block {i + 1} failed:\n{code}") from exc


def test_every_doc_page_has_runnable_code():
    for path in DOCS:
        if path.name != "README.md":
            assert blocks(path), f"{path.name} has no ```python block to check"
