"""Request validation against the vendors' stored OpenAPI descriptions.

The specs are big (Jira: 2.4 MB, 417 paths), so each is parsed once per process and every operation gets
its own small validator built lazily: a spec holding only that one path item (components are shared, not
copied). openapi-core's path finder then has a single candidate instead of hundreds, which keeps the
per-request cost around a millisecond. Operations are located by our own precompiled path regexes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

log = logging.getLogger(__name__)

SPEC_FILES = {
    "intercom": "openapi/intercom-api-2.14.yaml",
    "jira": "openapi/jira-cloud-platform-swagger-v3.v3.json",
}
# Jira's v2 bodies differ from v3 for comments and descriptions (wiki text, not ADF) and transitions (v2
# takes numeric ids; atlassian-python-api sends `{"transition": {"id": 31}}`); for these v2 aliases only the
# path and query are checked against the v3 operation.
_V2_BODY_DIFFERS = re.compile(r"/comment|/transitions$|^/rest/api/3/issue(/\{issueIdOrKey\})?$")


def contracts_dir() -> Path | None:
    """The shared contracts folder: `$CONTRACTS_DIR`, else `<repo root>/../shared/contracts`."""
    configured = os.environ.get("CONTRACTS_DIR")
    path = Path(configured) if configured else Path(__file__).resolve().parents[1].parent / "shared/contracts"
    return path if path.is_dir() else None


@dataclass(frozen=True)
class Operation:
    """A spec operation matched by a concrete request path."""

    template: str
    params: dict[str, str]
    v2_alias: bool = False


class _Request:
    """The minimal request object openapi-core's validators read."""

    def __init__(self, method: str, path: str, body: bytes, content_type: str, params: Any) -> None:
        self.host_url = "http://sandbox.invalid"
        self.method = method.lower()
        self.path = path
        self.path_pattern = None
        self.body = body or None
        self.content_type = content_type
        self.parameters = params


class SpecValidator:
    """Validates requests against one OpenAPI document."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self._spec = spec
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        # (method, segment count) -> [(regex, template, param names)], fewest parameters first so that
        # `/conversations/search` wins over `/conversations/{conversation_id}`.
        self._index: dict[tuple[str, int], list[tuple[re.Pattern[str], str, list[str]]]] = {}
        for template, item in spec.get("paths", {}).items():
            names = re.findall(r"\{([^/}]+)\}", template)
            pattern = re.compile(_path_regex(template))
            for method in item:
                if method in {"get", "put", "post", "delete", "patch", "head", "options"}:
                    key = (method, template.count("/"))
                    self._index.setdefault(key, []).append((pattern, template, names))
        for candidates in self._index.values():
            candidates.sort(key=lambda c: (c[1].count("{"), -len(c[1])))

    def find(self, method: str, path: str) -> Operation | None:
        """The operation serving `method path`; `/rest/api/2|latest/...` falls back to the v3 twin."""
        method = method.lower()
        found = self._find(method, path)
        if found is None:
            alias = re.sub(r"^/rest/api/(2|latest)/", "/rest/api/3/", path)
            if alias != path and (found := self._find(method, alias)) is not None:
                return Operation(found.template, found.params, v2_alias=True)
        return found

    def _find(self, method: str, path: str) -> Operation | None:
        for pattern, template, names in self._index.get((method, path.count("/")), ()):
            match = pattern.match(path)
            if match:
                return Operation(template, dict(zip(names, map(unquote, match.groups()), strict=True)))
        return None

    def validate(self, method: str, path: str, operation: Operation, query: Any, headers: Any, body: bytes,
                 content_type: str) -> list[str]:
        """Human-readable problems with the request; empty when it conforms."""
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        present = frozenset([*(("query", k) for k in query), *(("header", k.lower()) for k in headers)])
        validator = self._validator(method.lower(), operation.template, present)
        check_body = not (operation.v2_alias and _V2_BODY_DIFFERS.search(operation.template))
        params = RequestParameters(
            path=dict(operation.params),
            query=ImmutableMultiDict([(k, v) for k, values in query.items() for v in values]),
            header=Headers(list(headers.items())),
        )
        # The validator's own path finder sees the spec path, with our already-decoded parameters.
        request = _Request(method, _fill(operation.template, operation.params),
                           body if check_body else b"", content_type if check_body else "", params)
        problems: list[str] = []
        for error in validator.iter_errors(request):
            if not check_body and "RequestBody" in type(error).__name__:
                continue
            problems.extend(_describe(error))
        return problems

    def _validator(self, method: str, template: str, present: frozenset[tuple[str, str]]) -> Any:
        # openapi-core spends ~0.25 ms on every declared parameter, sent or not (Jira's GET issue declares
        # six). Absent optional ones cannot be wrong, so each validator only declares the parameters that are
        # required or present: one validator per (operation, set of such parameters), built once.
        kept = self._kept_parameters(method, template, present)
        key = (method, template, kept)
        validator = self._validators.get(key)
        if validator is None:
            with self._lock:
                validator = self._validators.get(key)
                if validator is None:
                    validator = self._build(method, template, kept)
                    self._validators[key] = validator
        return validator

    def _kept_parameters(self, method: str, template: str, present: frozenset[tuple[str, str]]) -> tuple[int, ...]:
        """Indexes (into the path item's then the operation's parameter list) of the parameters to check."""
        kept = []
        for index, param in enumerate(self._parameters(method, template)):
            location, name = param.get("in"), param.get("name", "")
            if location == "path" or param.get("required") or (
                    location, name.lower() if location == "header" else name) in present:
                kept.append(index)
        return tuple(kept)

    def _parameters(self, method: str, template: str) -> list[dict[str, Any]]:
        item = self._spec["paths"][template]
        return [self._resolve(p) for p in [*item.get("parameters", []), *item[method].get("parameters", [])]]

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self._spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _build(self, method: str, template: str, kept: tuple[int, ...]) -> Any:
        from jsonschema_path import SchemaPath
        from openapi_core import V30RequestValidator

        class _NoSecurity(V30RequestValidator):
            # The simulators check credentials themselves (Jira DC's PAT bearer is not in the Cloud spec).
            def _get_security(self, parameters: Any, operation: Any) -> None:
                return None

        item = self._spec["paths"][template]
        parameters = self._parameters(method, template)
        operation = {**item[method], "parameters": [parameters[i] for i in kept]}
        mini = {
            "openapi": "3.0.3",
            "info": self._spec.get("info", {"title": self.name, "version": "0"}),
            "servers": [{"url": "/"}],
            "paths": {template: {method: operation}},
            "components": self._spec.get("components", {}),
        }
        validator = _NoSecurity(SchemaPath.from_dict(mini), base_url="http://sandbox.invalid")
        # openapi-core builds (and deep-copies a format checker for) schema validators, casters and
        # deserializers on every request; per operation they never change, so build each once. This
        # halves the per-request cost.
        validator.schema_validators_factory = _Memo(
            validator.schema_validators_factory, lambda spec, schema, **kw: str(schema))
        validator.style_deserializers_factory = _Memo(
            validator.style_deserializers_factory,
            lambda spec, schema, style, explode, name: (str(schema), style, explode, name))
        validator.media_type_deserializers_factory = _Memo(
            validator.media_type_deserializers_factory,
            lambda spec, mimetype, schema=None, parameters=None, encoding=None, **kw: (
                mimetype, str(schema), tuple(sorted((parameters or {}).items())), str(encoding)))
        return validator


class _Memo:
    """Wraps an openapi-core factory so that `create` returns the same object for the same key."""

    def __init__(self, inner: Any, key: Any) -> None:
        self._inner = inner
        self._key = key
        self._built: dict[Any, Any] = {}

    def create(self, *args: Any, **kwargs: Any) -> Any:
        key = self._key(*args, **kwargs)
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = self._inner.create(*args, **kwargs)
        return built

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _path_regex(template: str) -> str:
    parts = re.split(r"(\{[^/}]+\})", template)
    return "^" + "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts) + "$"


def _fill(template: str, params: dict[str, str]) -> str:
    from urllib.parse import quote

    return re.sub(r"\{([^/}]+)\}", lambda m: quote(params.get(m.group(1), "x"), safe=""), template)


def _describe(error: Exception) -> list[str]:
    """Flatten openapi-core's nested errors into lines that say what is wrong and where."""
    from jsonschema.exceptions import best_match

    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if not schema_errors:
        return [f"{type(error).__name__}: {error}"]
    lines = []
    for schema_error in schema_errors:
        best = best_match([schema_error]) if not schema_error.context else best_match(schema_error.context)
        where = best.json_path if hasattr(best, "json_path") else "$"
        lines.append(f"{type(error).__name__} at {where}: {best.message}")
    return lines


@cache
def load_spec(name: str) -> SpecValidator | None:
    """The validator for `intercom` or `jira`, parsed once per process; None (with a warning) if absent."""
    folder = contracts_dir()
    path = folder / SPEC_FILES[name] if folder else None
    if path is None or not path.is_file():
        message = f"sandbox: contract spec for {name} not found ({path or 'no contracts folder'}); " \
                  "request validation is OFF"
        warnings.warn(message, stacklevel=2)
        log.warning(message)
        return None
    with path.open("rb") as handle:
        if path.suffix == ".json":
            spec = json.load(handle)
        else:
            import yaml

            spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return SpecValidator(name, spec)
