"""Jira wiki markup and ADF → safe Intercom note HTML; everything hostile comes out inert."""

import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from connector.jira_markup import ALLOWED_TAGS, adf_to_html, sanitize_note_html, wiki_to_html

USERS = {"5b10ac8d82e05b22cc7d4ef5": "Ann Lee", "jsmith": "John Smith"}
REL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(
    ("wiki", "expected"),
    [
        ("*bold* _italic_ -strike- +under+", "<p><b>bold</b> <i>italic</i> <s>strike</s> <u>under</u></p>"),
        ("use {{git status}} now", "<p>use <code>git status</code> now</p>"),
        ("a-b-c and 2*3*4 stay", "<p>a-b-c and 2*3*4 stay</p>"),
        ("line one\nline two\n\nnext para", "<p>line one<br>line two</p><p>next para</p>"),
        ("forced\\\\break", "<p>forced<br>break</p>"),
        ("h1. Big\nh6. Small", "<h1>Big</h1><h6>Small</h6>"),
        ("bq. quoted", "<blockquote><p>quoted</p></blockquote>"),
        ("{quote}\nsaid *this*\n{quote}", "<blockquote><p>said <b>this</b></p></blockquote>"),
        ('{code:java}\nif (a < b) { x("*y*"); }\n{code}',
         "<pre><code>if (a &lt; b) { x(\"*y*\"); }</code></pre>"),
        ("{noformat}*raw* _text_{noformat}", "<pre><code>*raw* _text_</code></pre>"),
        ("* one\n* two", "<ul><li>one</li><li>two</li></ul>"),
        ("# one\n# two", "<ol><li>one</li><li>two</li></ol>"),
        ("* a\n** a1\n** a2\n* b", "<ul><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b</li></ul>"),
        ("# step\n#* detail", "<ol><li>step<ul><li>detail</li></ul></li></ol>"),
        ("- dash item", "<ul><li>dash item</li></ul>"),
        ("[Docs|https://example.com/docs]", f'<p><a href="https://example.com/docs" {REL}>Docs</a></p>'),
        ("[https://example.com]", f'<p><a href="https://example.com" {REL}>https://example.com</a></p>'),
        ("[mail me|mailto:a@example.com]", f'<p><a href="mailto:a@example.com" {REL}>mail me</a></p>'),
        ("see https://example.com/x.", f'<p>see <a href="https://example.com/x" {REL}>https://example.com/x</a>.</p>'),
        ("[*bold link*|https://e.com]", f'<p><a href="https://e.com" {REL}><b>bold link</b></a></p>'),
        ("[~accountid:5b10ac8d82e05b22cc7d4ef5] look", "<p>@Ann Lee look</p>"),
        ("[~jsmith] and [~nobody]", "<p>@John Smith and @someone</p>"),
        ("!screenshot.png! and !pic.jpg|thumbnail!", "<p>[image: screenshot.png] and [image: pic.jpg]</p>"),
        ("Hello! World!", "<p>Hello! World!</p>"),
        ("[WIP] not a link", "<p>[WIP] not a link</p>"),
        ("\\*not bold\\*", "<p>*not bold*</p>"),
        ("{color:red}red text{color}", "<p>red text</p>"),
        ("||h1||h2||\n|a|b|", "<p>h1 | h2</p><p>a | b</p>"),
        ("", ""),
    ],
)
def test_it_converts_wiki_markup(wiki, expected):
    assert wiki_to_html(wiki, users=USERS) == expected


def _text(text, marks=()):
    node = {"type": "text", "text": text}
    if marks:
        node["marks"] = list(marks)
    return node


def _doc(*blocks):
    return {"type": "doc", "version": 1, "content": list(blocks)}


def _para(*inline):
    return {"type": "paragraph", "content": list(inline)}


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (_doc(_para(_text("hi"), {"type": "hardBreak"}, _text("there"))), "<p>hi<br>there</p>"),
        (_doc(_para(_text("b", [{"type": "strong"}]), _text("i", [{"type": "em"}]),
                    _text("s", [{"type": "strike"}]), _text("u", [{"type": "underline"}]),
                    _text("c", [{"type": "code"}]))),
         "<p><b>b</b><i>i</i><s>s</s><u>u</u><code>c</code></p>"),
        (_doc(_para(_text("site", [{"type": "link", "attrs": {"href": "https://e.com"}}]))),
         f'<p><a href="https://e.com" {REL}>site</a></p>'),
        (_doc({"type": "heading", "attrs": {"level": 3}, "content": [_text("Title")]}), "<h3>Title</h3>"),
        (_doc({"type": "bulletList", "content": [{"type": "listItem", "content": [_para(_text("x"))]}]}),
         "<ul><li><p>x</p></li></ul>"),
        (_doc({"type": "orderedList", "content": [{"type": "listItem", "content": [_para(_text("1"))]}]}),
         "<ol><li><p>1</p></li></ol>"),
        (_doc({"type": "codeBlock", "attrs": {"language": "py"}, "content": [_text("a < b")]}),
         "<pre><code>a &lt; b</code></pre>"),
        (_doc({"type": "blockquote", "content": [_para(_text("q"))]}), "<blockquote><p>q</p></blockquote>"),
        (_doc(_para({"type": "mention", "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Old"}})),
         "<p>@Ann Lee</p>"),
        (_doc(_para({"type": "mention", "attrs": {"id": "unknown"}})), "<p>@someone</p>"),
        (_doc(_para({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}})), "<p>😄</p>"),
        (_doc(_para({"type": "inlineCard", "attrs": {"url": "https://e.com/browse/A-1"}})),
         f'<p><a href="https://e.com/browse/A-1" {REL}>https://e.com/browse/A-1</a></p>'),
        (_doc(_para(_text("a")), {"type": "rule"}, _para(_text("b"))), "<p>a</p><p>b</p>"),
        (_doc({"type": "panel", "attrs": {"panelType": "info"}, "content": [_para(_text("note"))]}),
         "<p>note</p>"),
        (_doc({"type": "someFutureNode", "attrs": {"text": "kept"}}), "kept"),
        (_doc({"type": "futureBlock", "content": [_para(_text("inner"))]}), "<p>inner</p>"),
    ],
)
def test_it_converts_adf(doc, expected):
    assert adf_to_html(doc, users=USERS) == expected


# --------------------------------------------------------------------------------------------------------
# XSS corpus
# --------------------------------------------------------------------------------------------------------

XSS_TEXT = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)><circle/></svg>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"&#106;avascript:alert(1)\">x</a>",
    "<a href=\"java&#x09;script:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<p onclick=alert(1)>click</p>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "\"><script>alert(1)</script>",
]
XSS_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "&#106;avascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https://ok.example/\"onmouseover=\"alert(1)",
]


class _Inspector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)


def assert_inert(html_out: str):
    inspector = _Inspector()
    inspector.feed(html_out)
    assert set(inspector.tags) <= ALLOWED_TAGS, html_out
    for tag, name, value in inspector.attrs:
        assert (tag, name) in {("a", "href"), ("a", "rel")}, html_out
        if name == "href":
            assert urlsplit(value).scheme in {"http", "https", "mailto"}, html_out


@pytest.mark.parametrize("payload", XSS_TEXT)
def test_hostile_text_is_inert_through_every_path(payload):
    assert_inert(wiki_to_html(payload))
    assert_inert(wiki_to_html(f"*{payload}* [{payload}|https://e.com] {{{{{payload}}}}}"))
    assert_inert(adf_to_html(_doc(_para(_text(payload, [{"type": "strong"}])))))
    assert_inert(adf_to_html(_doc({"type": "codeBlock", "content": [_text(payload)]})))
    assert_inert(adf_to_html(_doc(_para({"type": "mention", "attrs": {"id": "x", "text": payload}}))))
    assert_inert(sanitize_note_html(payload))
    assert "<script" not in wiki_to_html(payload).lower()


@pytest.mark.parametrize("url", XSS_URLS)
def test_hostile_link_targets_never_become_links(url):
    outputs = [
        wiki_to_html(f"[click|{url}]"),
        wiki_to_html(f"[{url}]"),
        adf_to_html(_doc(_para(_text("click", [{"type": "link", "attrs": {"href": url}}])))),
        adf_to_html(_doc(_para({"type": "inlineCard", "attrs": {"url": url}}))),
        sanitize_note_html(f'<a href="{url}">click</a>'),
    ]
    for out in outputs:
        assert_inert(out)
        if not url.startswith("https://"):
            assert "href" not in out, out


def test_user_names_from_the_mapping_are_escaped():
    out = wiki_to_html("[~evil]", users={"evil": "<img src=x onerror=alert(1)>"})
    assert_inert(out)
    assert "&lt;img" in out


def test_sanitizer_keeps_what_intercom_renders_and_adds_rel_to_links():
    kept = "<p><b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><s>x</s><code>c</code></p><pre>p</pre>"
    assert sanitize_note_html(kept) == kept
    assert sanitize_note_html('<a href="https://e.com" target="_blank">x</a>') == (
        f'<a href="https://e.com" {REL}>x</a>')
    assert sanitize_note_html("<table><tr><td>cell</td></tr></table>") == "cell"


@pytest.mark.parametrize(
    "value",
    [None, 42, b"bytes", ["list"], "\ud800 lone surrogate", "\x00nul", "{code}unclosed", "{quote}\n" * 500,
     "[" * 5000, "* " * 5000, "#" * 300 + " deep"],
)
def test_wiki_conversion_never_raises(value):
    assert isinstance(wiki_to_html(value), str)


def _deep_adf(depth):
    node = _text("bottom")
    for _ in range(depth):
        node = {"type": "blockquote", "content": [node]}
    return _doc(node)


@pytest.mark.parametrize(
    "value",
    [None, 42, "text", [], {"type": "doc", "content": "not a list"}, {"type": 5, "attrs": []},
     _doc(None, 3, {"type": "text", "text": None, "marks": "bad"}),
     _doc(_para({"type": "mention", "attrs": None})), _doc({"type": "heading", "attrs": {"level": 99}}),
     _deep_adf(5000)],
)
def test_adf_conversion_never_raises(value):
    assert isinstance(adf_to_html(value), str)


@pytest.mark.parametrize(
    "hostile", ["*a " * 20000, "-a " * 20000, "{{" * 20000, "_a " * 20000, "[x" * 20000, "!a" * 20000],
)
def test_pathological_wiki_input_converts_quickly(hostile):
    started = time.monotonic()
    wiki_to_html(hostile)
    assert time.monotonic() - started < 1.0
