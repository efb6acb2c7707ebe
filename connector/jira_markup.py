"""Jira comment and description bodies → safe HTML for an Intercom note.

Two input formats reach us: Jira wiki markup (webhook comment bodies, even on Cloud) and the Atlassian
Document Format (REST v3 bodies). Both converters escape every piece of text they emit and build links only
from http/https/mailto URLs; `sanitize_note_html` then enforces the allowlist of what Intercom note bodies
render, so a mistake in a converter cannot become an XSS. All three functions are total: any input, however
malformed, yields a string.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import nh3

__all__ = ["adf_to_html", "sanitize_note_html", "wiki_to_html"]

# What Intercom renders in a note body; everything else is stripped (the text inside is kept).
ALLOWED_TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "u", "s", "code", "pre", "a", "ul", "ol", "li", "blockquote"}
    | {f"h{level}" for level in range(1, 7)}
)
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# Deeper nesting than this is flattened to text: it keeps recursion bounded on hostile input.
MAX_DEPTH = 40
# Longer bodies are cut: a note is not the place for them, and it bounds the work done per conversion.
MAX_INPUT_CHARS = 100_000
UNKNOWN_USER = "@someone"


def sanitize_note_html(html_text: str) -> str:
    """Keep only the tags and attributes an Intercom note renders; links only to http(s)/mailto."""
    if not isinstance(html_text, str):
        html_text = "" if html_text is None else str(html_text)
    # nh3 (Rust) needs valid UTF-8; lone surrogates would raise.
    html_text = html_text.encode("utf-8", "replace").decode("utf-8")
    return nh3.clean(
        html_text,
        tags=set(ALLOWED_TAGS),
        attributes={"a": {"href"}},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def safe_url(url: str) -> str | None:
    """The URL stripped of whitespace if its scheme is http, https or mailto, else None."""
    # Browsers ignore control characters and whitespace inside a scheme ("java\tscript:"), so remove
    # them before looking at it rather than trusting what is printed.
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(url or ""))
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_URL_SCHEMES:
        return None
    if scheme in ("http", "https") and not parts.netloc:
        return None
    return cleaned


def _link(href: str, inner_html: str) -> str:
    url = safe_url(href)
    if url is None:
        return inner_html
    return f'<a href="{html.escape(url, quote=True)}" rel="{LINK_REL}">{inner_html}</a>'


def _mention(users: Mapping[str, str], key: str) -> str:
    name = None
    try:
        name = users.get(key)
    except Exception:  # a caller-supplied mapping must not break rendering
        name = None
    return "@" + name if isinstance(name, str) and name.strip() else UNKNOWN_USER


def _safe_users(users: Any) -> Mapping[str, str]:
    return users if isinstance(users, Mapping) else {}


# --------------------------------------------------------------------------------------------------------
# Jira wiki markup
# --------------------------------------------------------------------------------------------------------

_BLOCK_MACRO = re.compile(r"^\s*\{(code|noformat|quote|panel)(?::[^}]*)?\}", re.IGNORECASE)
_HEADING = re.compile(r"^\s*h([1-6])\.\s+(.*)$")
_BQ = re.compile(r"^\s*bq\.\s+(.*)$")
_LIST_ITEM = re.compile(r"^\s*([*#]+|-)\s+(.*)$")  # "*bold*" has no space after the mark
_RULE = re.compile(r"^\s*-{4,}\s*$")
_TABLE_ROW = re.compile(r"^\s*\|")

# Inline tokens turned into placeholders before the text is escaped, so their output is not re-processed.
_LINK = re.compile(r"\[([^\[\]\n]{1,2000})\]")
_MONO = re.compile(r"\{\{([^{}\n]+)\}\}")
_IMAGE = re.compile(
    r"!((?:https?://)?[^!\s|][^!|\n]{0,300}?\.[A-Za-z0-9]{2,5}|https?://[^!\s|]{1,500})(?:\|[^!\n]{0,200})?!"
)
_BARE_URL = re.compile(r"\b(?:https?://|mailto:)[^\s<>\"'\[\]{}|]+", re.IGNORECASE)
_COLOR = re.compile(r"\{color(?::[^}]*)?\}", re.IGNORECASE)
_ESCAPED_CHAR = re.compile(r"\\([*_+\-{}\[\]!^~?#|\\])")
_TOKEN = re.compile("\x00(\\d+)\x00")
# Text effects: the opening mark follows a non-word character and precedes a non-space; the closing mark
# follows a non-space and precedes a non-word character (so "a-b-c" and "2*3*4" stay as they are). The
# content may not hold the mark itself: that keeps matching linear on hostile input like "*a *a *a …".
_EFFECTS = [
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]+?)(?<=\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])([^_]+?)(?<=\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w\-])-(?=[^\s\-])([^\-]+?)(?<=\S)-(?![\w\-])"), "s"),
    (re.compile(r"(?<![\w+])\+(?=[^\s+])([^+]+?)(?<=\S)\+(?![\w+])"), "u"),
    (re.compile(r"(?<![\w?])\?\?(?=[^\s?])([^?]+?)(?<=\S)\?\?(?![\w?])"), "i"),
]


class _Tokens:
    """Holds HTML fragments that are already safe, referenced from text as NUL-delimited numbers."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, fragment: str) -> str:
        self.parts.append(fragment)
        return f"\x00{len(self.parts) - 1}\x00"

    def restore(self, text: str) -> str:
        # Tokens may nest (a link's text holds tokens), so repeat until none is left.
        for _ in range(MAX_DEPTH):
            new = _TOKEN.sub(lambda m: self.parts[int(m.group(1))], text)
            if new == text:
                break
            text = new
        return _TOKEN.sub("", text)


def wiki_to_html(text: str, *, users: Mapping[str, str] = {}) -> str:
    """Jira wiki markup → sanitised HTML for an Intercom note. Mentions become "@Display Name"."""
    try:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:MAX_INPUT_CHARS].replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
        out = _WikiConverter(_safe_users(users)).blocks(text.split("\n"), depth=0)
        return sanitize_note_html(out)
    except Exception:  # total by contract: fall back to the escaped text
        return sanitize_note_html(_paragraphs_of_text(str(text)))


def _paragraphs_of_text(text: str) -> str:
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paras)


class _WikiConverter:
    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = users

    # ---- blocks -------------------------------------------------------------------------------------
    def blocks(self, lines: list[str], depth: int) -> str:
        if depth > MAX_DEPTH:
            return _paragraphs_of_text("\n".join(lines))
        out: list[str] = []
        para: list[str] = []

        def flush() -> None:
            if para:
                out.append("<p>" + "<br>".join(self.inline(line) for line in para) + "</p>")
                para.clear()

        i = 0
        while i < len(lines):
            line = lines[i]
            macro = _BLOCK_MACRO.match(line)
            if macro:
                flush()
                i = self._macro_block(lines, i, macro, out, depth)
                continue
            if not line.strip():
                flush()
                i += 1
                continue
            if m := _HEADING.match(line):
                flush()
                out.append(f"<h{m.group(1)}>{self.inline(m.group(2))}</h{m.group(1)}>")
            elif m := _BQ.match(line):
                flush()
                out.append(f"<blockquote><p>{self.inline(m.group(1))}</p></blockquote>")
            elif _RULE.match(line):
                flush()
            elif _LIST_ITEM.match(line):
                flush()
                i = self._list(lines, i, out)
                continue
            elif _TABLE_ROW.match(line):
                flush()
                cells = [c.strip() for c in re.split(r"\|\|?", line.strip().strip("|"))]
                out.append("<p>" + " | ".join(self.inline(c) for c in cells if c) + "</p>")
            else:
                para.append(line)
            i += 1
        flush()
        return "".join(out)

    def _macro_block(self, lines: list[str], i: int, macro: re.Match[str], out: list[str], depth: int) -> int:
        name = macro.group(1).lower()
        close = re.compile(r"\{" + name + r"\}", re.IGNORECASE)
        first = lines[i][macro.end():]
        body: list[str] = []
        end_found = False
        rest_after = ""
        # The body may close on the opening line ({code}x{code}) or on any later line.
        candidate = first
        j = i
        while True:
            m = close.search(candidate)
            if m:
                body.append(candidate[: m.start()])
                rest_after = candidate[m.end():]
                end_found = True
                break
            body.append(candidate)
            j += 1
            if j >= len(lines):
                break
            candidate = lines[j]
        if body and not body[0].strip():
            body = body[1:]
        if name in ("code", "noformat"):
            content = "\n".join(body).strip("\n")
            out.append(f"<pre><code>{html.escape(content)}</code></pre>")
        elif name == "quote":
            inner = self.blocks(body, depth + 1)
            out.append(f"<blockquote>{inner}</blockquote>" if inner else "")
        else:  # panel: keep the content, drop the frame
            out.append(self.blocks(body, depth + 1))
        if end_found and rest_after.strip():
            out.append(self.blocks([rest_after], depth + 1))
        return j + 1

    def _list(self, lines: list[str], i: int, out: list[str]) -> int:
        items: list[tuple[str, str]] = []
        while i < len(lines):
            m = _LIST_ITEM.match(lines[i])
            if not m:
                break
            items.append((m.group(1).replace("-", "*"), m.group(2)))
            i += 1
        out.append(self._list_html(items))
        return i

    def _list_html(self, items: list[tuple[str, str]]) -> str:
        """Nested lists from marker strings: '*', '**', '*#' … (the marker length is the depth)."""
        out: list[str] = []
        stack: list[str] = []  # open list tags; each open list has an open <li> once it has an item
        for marks, content in items:
            marks = marks[:MAX_DEPTH]
            depth = len(marks)
            while len(stack) > depth:
                out.append(f"</li></{stack.pop()}>")
            if len(stack) == depth and stack[-1] != _list_tag(marks[depth - 1]):
                out.append(f"</li></{stack.pop()}>")
            if len(stack) == depth:
                out.append("</li>")
            while len(stack) < depth:
                tag = _list_tag(marks[len(stack)])
                out.append(f"<{tag}>")  # nests inside the still-open <li> of the level above
                stack.append(tag)
                if len(stack) < depth:
                    out.append("<li>")
            out.append("<li>" + self.inline(content))
        while stack:
            out.append(f"</li></{stack.pop()}>")
        return "".join(out)

    # ---- inline -------------------------------------------------------------------------------------
    def inline(self, text: str, *, links: bool = True) -> str:
        tokens = _Tokens()
        text = text.replace("\\\\", tokens.add("<br>"))
        text = _ESCAPED_CHAR.sub(lambda m: tokens.add(html.escape(m.group(1))), text)
        text = _MONO.sub(lambda m: tokens.add(f"<code>{html.escape(m.group(1))}</code>"), text)
        text = _COLOR.sub("", text)
        text = _IMAGE.sub(lambda m: tokens.add(html.escape(f"[image: {m.group(1).strip()}]")), text)
        if links:
            text = _LINK.sub(lambda m: self._bracket(m.group(1), tokens), text)
            text = _BARE_URL.sub(lambda m: self._bare_url(m.group(0), tokens), text)
        escaped = html.escape(text, quote=False)
        for pattern, tag in _EFFECTS:
            escaped = pattern.sub(lambda m, tag=tag: f"<{tag}>{m.group(1)}</{tag}>", escaped)
        return tokens.restore(escaped)

    @staticmethod
    def _bare_url(url: str, tokens: _Tokens) -> str:
        # Sentence punctuation right after a URL belongs to the sentence.
        trimmed = url.rstrip(".,;:!?)")
        return tokens.add(_link(trimmed, html.escape(trimmed))) + url[len(trimmed):]

    def _bracket(self, inner: str, tokens: _Tokens) -> str:
        inner_stripped = inner.strip()
        if inner_stripped.startswith("~"):
            key = inner_stripped[1:]
            found = _mention(self.users, key)
            if found == UNKNOWN_USER and key.lower().startswith("accountid:"):
                found = _mention(self.users, key[len("accountid:"):])
            return tokens.add(html.escape(found))
        if inner_stripped.startswith("^"):  # attachment link
            return tokens.add(html.escape(f"[attachment: {inner_stripped[1:]}]"))
        label, sep, target = inner.rpartition("|")
        if not sep:
            label, target = "", inner
        target = target.strip()
        if safe_url(target) is None:
            if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", target) and not sep:
                # [javascript:…] and friends: show nothing clickable, keep the words.
                return tokens.add(html.escape(target))
            if sep:
                return tokens.add(self.inline(label, links=False))
            return "[" + inner + "]"  # not a link at all (e.g. "[WIP]"); left to normal processing
        label_html = self.inline(label, links=False) if label.strip() else html.escape(target)
        return tokens.add(_link(target, label_html))


def _list_tag(mark: str) -> str:
    return "ol" if mark == "#" else "ul"


# --------------------------------------------------------------------------------------------------------
# Atlassian Document Format
# --------------------------------------------------------------------------------------------------------

_MARK_TAGS = {"strong": "b", "em": "i", "strike": "s", "underline": "u", "code": "code"}


def adf_to_html(doc: dict, *, users: Mapping[str, str] = {}) -> str:
    """Atlassian Document Format → sanitised HTML. Unknown nodes degrade to their text."""
    try:
        return sanitize_note_html(_AdfConverter(_safe_users(users)).node(doc, 0))
    except Exception:  # total by contract
        return sanitize_note_html(html.escape(_adf_text(doc, 0)))


def _adf_text(node: Any, depth: int) -> str:
    """All text in a node, for degrading unknown nodes."""
    if depth > MAX_DEPTH:
        return ""
    if isinstance(node, list):
        return " ".join(t for t in (_adf_text(n, depth + 1) for n in node) if t)
    if not isinstance(node, dict):
        return ""
    if isinstance(node.get("text"), str):
        return node["text"]
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if isinstance(attrs.get("text"), str):
        return attrs["text"]
    return _adf_text(node.get("content"), depth + 1)


class _AdfConverter:
    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = users
        self.handlers: dict[str, Callable[[dict, dict, int], str]] = {
            "doc": lambda n, a, d: self.children(n, d),
            "paragraph": lambda n, a, d: f"<p>{self.children(n, d)}</p>",
            "text": self.text,
            "hardBreak": lambda n, a, d: "<br>",
            "heading": self.heading,
            "bulletList": lambda n, a, d: f"<ul>{self.children(n, d)}</ul>",
            "orderedList": lambda n, a, d: f"<ol>{self.children(n, d)}</ol>",
            "listItem": lambda n, a, d: f"<li>{self.children(n, d)}</li>",
            "codeBlock": lambda n, a, d: f"<pre><code>{html.escape(_adf_text(n, d))}</code></pre>",
            "blockquote": lambda n, a, d: f"<blockquote>{self.children(n, d)}</blockquote>",
            "mention": self.mention,
            "emoji": lambda n, a, d: html.escape(str(a.get("text") or a.get("shortName") or "")),
            "inlineCard": self.card,
            "blockCard": self.card,
            "embedCard": self.card,
            "rule": lambda n, a, d: "",
            "panel": lambda n, a, d: self.children(n, d),
            "expand": lambda n, a, d: self.titled(n, a, d),
            "nestedExpand": lambda n, a, d: self.titled(n, a, d),
            "table": lambda n, a, d: self.children(n, d),
            "tableRow": lambda n, a, d: f"<p>{self.cells(n, d)}</p>",
            "mediaSingle": lambda n, a, d: self.children(n, d),
            "mediaGroup": lambda n, a, d: self.children(n, d),
            "media": lambda n, a, d: html.escape(f"[attachment: {a.get('alt') or a.get('id') or 'file'}]"),
            "status": lambda n, a, d: html.escape(f"[{a.get('text', '')}]"),
        }

    def node(self, node: Any, depth: int) -> str:
        if depth > MAX_DEPTH:
            return html.escape(_adf_text(node, 0))
        if isinstance(node, list):
            return "".join(self.node(n, depth + 1) for n in node)
        if not isinstance(node, dict):
            return ""
        attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
        handler = self.handlers.get(str(node.get("type")))
        if handler is None:
            if isinstance(node.get("content"), list):
                return self.children(node, depth)
            return html.escape(_adf_text(node, depth))
        return handler(node, attrs, depth)

    def children(self, node: dict, depth: int) -> str:
        content = node.get("content")
        if not isinstance(content, list):
            return ""
        return "".join(self.node(child, depth + 1) for child in content)

    def cells(self, node: dict, depth: int) -> str:
        content = node.get("content") if isinstance(node.get("content"), list) else []
        cells = [html.escape(_adf_text(cell, depth + 1)) for cell in content]
        return " | ".join(c for c in cells if c)

    def titled(self, node: dict, attrs: dict, depth: int) -> str:
        title = attrs.get("title")
        head = f"<p><b>{html.escape(title)}</b></p>" if isinstance(title, str) and title else ""
        return head + self.children(node, depth)

    def text(self, node: dict, attrs: dict, depth: int) -> str:
        value = node.get("text")
        out = html.escape(value if isinstance(value, str) else "")
        marks = node.get("marks") if isinstance(node.get("marks"), list) else []
        for mark in marks:
            if not isinstance(mark, dict):
                continue
            kind = mark.get("type")
            if kind in _MARK_TAGS:
                tag = _MARK_TAGS[kind]
                out = f"<{tag}>{out}</{tag}>"
            elif kind == "link":
                mark_attrs = mark.get("attrs") if isinstance(mark.get("attrs"), dict) else {}
                href = mark_attrs.get("href")
                out = _link(href, out) if isinstance(href, str) else out
        return out

    def heading(self, node: dict, attrs: dict, depth: int) -> str:
        level = attrs.get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 3
        return f"<h{level}>{self.children(node, depth)}</h{level}>"

    def mention(self, node: dict, attrs: dict, depth: int) -> str:
        key = attrs.get("id")
        name = _mention(self.users, key) if isinstance(key, str) else UNKNOWN_USER
        if name == UNKNOWN_USER and isinstance(attrs.get("text"), str) and attrs["text"].strip("@ "):
            name = "@" + attrs["text"].lstrip("@")
        return html.escape(name)

    def card(self, node: dict, attrs: dict, depth: int) -> str:
        url = attrs.get("url")
        if not isinstance(url, str):
            return ""
        return _link(url, html.escape(url)) if safe_url(url) else html.escape(url)
