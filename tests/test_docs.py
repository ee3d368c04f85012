"""The guide's pages and links: every page the site lists exists, and no relative link of the
README or of a page points at nothing (the site build checks the same, strictly, in CI)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]+\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _nav_pages(text: str) -> list[str]:
    return re.findall(r":\s*([\w/.-]+\.md)\s*$", text, flags=re.M)


def test_every_page_of_the_site_exists_and_every_page_is_listed():
    pages = _nav_pages((ROOT / "mkdocs.yml").read_text())
    assert "index.md" in pages and "measured-data.md" in pages
    generated = set(_generated_pages())
    assert generated and generated <= set(pages), generated
    for page in set(pages) - generated:
        assert (ROOT / "docs" / page).is_file(), page
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk == set(pages) - generated, on_disk ^ (set(pages) - generated)


def _generated_pages() -> tuple[str, ...]:
    """The pages the site's hook writes at build time (its GENERATED tuple, read without mkdocs)."""
    source = (ROOT / "docs" / "_hooks" / "tutorials.py").read_text()
    return tuple(re.findall(r'"([\w/.-]+\.md)"', re.search(r"GENERATED = \(([^)]*)\)", source).group(1)))


@pytest.mark.parametrize("source", ["README.md", *sorted(p.relative_to(ROOT).as_posix()
                                                         for p in (ROOT / "docs").rglob("*.md"))])
def test_relative_links_point_at_files(source):
    """...or, from a page of the site, at a page the build generates."""
    path = ROOT / source
    generated = {(ROOT / "docs" / page).resolve() for page in _generated_pages()}
    for target in LINK.findall(path.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        made = source.startswith("docs/") and (path.parent / target).resolve() in generated
        assert made or (path.parent / target).exists(), f"{source}: {target}"
