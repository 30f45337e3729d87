"""Data is never markup: a partner label holding <script> and IRIs holding javascript: stay text."""

from __future__ import annotations

import re

import pytest
from ldkit import fetch


@pytest.mark.parametrize("path", ["/doc/element/Nd", "/doc/partner-note/hostile"])
def test_hostile_labels_and_links_are_escaped(ld_server, path):
    answer = fetch(ld_server, path)
    assert answer.status == 200
    page = answer.text
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert not re.search(r'href\s*=\s*["\']?\s*javascript:', page, re.I)
    assert "script-src" not in answer.header("content-security-policy")  # no script may run at all
    assert "default-src 'none'" in answer.header("content-security-policy")


def test_the_hostile_text_is_shown_escaped(ld_server):
    nd = fetch(ld_server, "/doc/element/Nd").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in nd
    assert "javascript:alert(1)" in nd  # shown as text, not as a link
    note = fetch(ld_server, "/doc/partner-note/hostile").text
    assert "<title>&lt;img src=x onerror=alert(3)&gt; · reekg</title>" in note
    assert "&lt;img src=x onerror=alert(3)&gt;" in nd  # the incoming link's label on Nd's page
