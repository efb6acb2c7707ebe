"""The one reader of JSON that clients send: webhook bodies (pipeline.intake) and the REST API (`JSONParser`).

Refusals are `JSONRefused` with a sentence that says what is wrong, so every caller can answer 400 with it.
Nesting is capped: Python's parser recurses and would end a deep document in RecursionError (a 500), and the
code that reads payloads later recurses too, so nothing deeper than `MAX_DEPTH` is accepted anywhere.
"""

import json
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as RestJSONParser

# Jira's deepest documents (ADF descriptions with nested lists) stay well below this.
MAX_DEPTH = 100


class JSONRefused(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON value")


_decoder = json.JSONDecoder(parse_constant=_no_constants)  # one for all: json.loads builds one per call


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _too_deep() -> JSONRefused:
    return JSONRefused(f"The JSON is nested too deeply (more than {MAX_DEPTH} levels).")


def json_parse(body: bytes) -> Any:
    """The JSON value of a UTF-8 body, or JSONRefused saying what is wrong with it."""
    try:
        value = _decoder.decode(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise JSONRefused("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except ValueError as exc:  # NaN or Infinity: Python reads them, JSON (and PostgreSQL) does not
        raise JSONRefused(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise _too_deep() from None
    # Counting brackets is nearly free; only a document with enough of them can be too deep.
    openers = body.count(b"[") + body.count(b"{")
    if isinstance(value, (dict, list)) and openers > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise _too_deep()
    return value


class JSONParser(RestJSONParser):
    """DRF's JSON parser with the same rules and messages as the webhooks (settings.REST_FRAMEWORK)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json_parse(stream.read() if stream is not None else b"")
        except JSONRefused as exc:
            raise ParseError(exc.message) from None
