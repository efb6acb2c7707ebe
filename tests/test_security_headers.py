"""The Content-Security-Policy: scripts and styles only from our own static files, so an injected tag or
attribute cannot run; the templates keep no inline code that the policy would block."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
INLINE = (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"javascript:")


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("url", ["/login/", "/connections/", "/rules/new/"])
def test_pages_forbid_inline_scripts_and_styles(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    policy = _policy(response)
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], policy
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_no_template_carries_inline_script_style_or_event_handlers():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in INLINE:
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []
