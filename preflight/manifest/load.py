"""Loading a manifest: YAML with a line map, the format version, environment profiles, then validation.

Every error names the file, the line and the field path; reference problems come all at once.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from preflight.deployment import ENDPOINT_ONLY_MODES, NetworkMode
from preflight.manifest.resolve import Manifest
from preflight.manifest.spec import MANIFEST_VERSION, ManifestDoc
from preflight.support.errors import InputError
from preflight.support.fileio import input_name
from preflight.support.project import manifest_dir, project_root, source_problem
from preflight.support.sourcefile import (
    LineMap,
    PathKey,
    collect,
    parse_yaml,
    pydantic_errors_to_input_error,
    read_text_file,
    suggest,
)


def _named_lists() -> dict[str, str]:
    """The manifest's lists of named items, key in the file -> field: every kind's list whose items
    have a `name` (profiles override them by name; a name is unique in its list)."""
    out = {}
    for field, info in ManifestDoc.model_fields.items():
        item = get_args(info.annotation)[0] if get_origin(info.annotation) is list else None
        if isinstance(item, type) and issubclass(item, BaseModel) and "name" in item.model_fields:
            out[info.alias or field] = field
    return out


_NAMED_LISTS = _named_lists()


def _merge(
    base: Any, override: Any, path: PathKey, base_lines: LineMap, over_lines: LineMap, over_path: PathKey
) -> Any:
    """Deep-merge an environment profile into the manifest, keeping line numbers of what it set."""
    base_lines.lines[path] = over_lines.line_of(over_path) or base_lines.lines.get(path, 0)
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base.get(key), value, (*path, key), base_lines, over_lines, (*over_path, key))
        return out
    if isinstance(base, list) and isinstance(override, dict) and path and path[-1] in _NAMED_LISTS:
        # Named lists are overridden by name; "*" applies to every item.
        names = [item.get("name") for item in base if isinstance(item, dict)]
        for key in override:
            if key != "*" and key not in names:
                raise over_lines.error(
                    (*over_path, key),
                    f"no {path[-1]} entry named {key!r} to override"
                    + suggest(str(key), [str(n) for n in names], "the names are"),
                )
        out_list = []
        for i, item in enumerate(base):
            merged = item
            for key in ("*", item.get("name") if isinstance(item, dict) else None):
                if key in override:
                    merged = _merge(
                        merged, override[key], (*path, i), base_lines, over_lines, (*over_path, key)
                    )
            out_list.append(merged)
        return out_list
    base_lines.origins[path] = over_path  # errors in this value point at the override
    return copy.deepcopy(override)


# --- the format version ----------------------------------------------------------------------------

# Version 1 had one of each of these (with these default names); version 2 lists them by name.
_VERSION_1_KINDS = {
    "stream": ("streams", "events"),
    "table": ("tables", "state"),
    "bucket": ("buckets", "archive"),
    "topic": ("topics", "alarms"),
}


def _check_version(data: dict[Any, Any], envs: dict[Any, Any], linemap: LineMap) -> None:
    """One error for a manifest in an older shape, naming what to write instead (before validation,
    which would bury it among a dozen unknown keys)."""
    for key, (plural, default) in _VERSION_1_KINDS.items():
        if key in data:
            item = _flow({"name": default, **(data[key] if isinstance(data[key], dict) else {})})
            raise linemap.error(
                (key,),
                f"`{key}:` is the version-1 shape; version 2 lists each kind by name: write "
                f"`version: {MANIFEST_VERSION}` and `{plural}: [{item}]`",
            )
        for env, profile in envs.items():
            if isinstance(profile, dict) and key in profile:
                sizing = _flow(profile[key]) if isinstance(profile[key], dict) else "{...}"
                raise linemap.error(
                    ("environments", env, key),
                    f"`{key}:` is the version-1 shape; override a {key} by name, as functions are: "
                    f"`{plural}: {{{default}: {sizing}}}` (with the name of its {plural} entry)",
                )
    if "version" not in data:
        raise InputError(
            f"no `version`: this is the version-1 shape; write `version: {MANIFEST_VERSION}` at the top, "
            "and streams, tables, buckets and topics as lists of named items",
            file=linemap.file,
            line=1,
            path="version",
        )
    version = data["version"]
    if version != MANIFEST_VERSION:
        raise linemap.error(
            ("version",),
            f"manifest version {version!r} is not supported: this tap-preflight reads version "
            f"{MANIFEST_VERSION}",
        )


def _flow(mapping: dict[Any, Any]) -> str:
    """A mapping as one line of YAML flow style, for a message."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


def load_manifest(path: str, environment: str | None = None) -> Manifest:
    text = read_text_file(path, "manifest")  # read once: `-` (stdin) cannot be read twice
    data, linemap = parse_yaml(text, input_name(path), "manifest")
    if not isinstance(data, dict):
        raise InputError("manifest must be a mapping at the top level", file=path, line=1)
    envs = data.get("environments") or {}
    if not isinstance(envs, dict):
        raise linemap.error(("environments",), "must be a mapping of environment name to overrides")
    _check_version(data, envs, linemap)
    env = environment or data.get("defaultEnvironment") or "prod"
    if envs and env not in envs:
        defined = sorted(map(str, envs))
        raise InputError(
            f"environment {env!r} is not defined (defined: {', '.join(defined)})"
            + suggest(str(env), defined, ""),
            file=path,
            line=linemap.line_of(("environments",)),
            path="environments",
        )
    profile = envs.get(env) or {}
    if not isinstance(profile, dict):
        raise linemap.error(("environments", env), "an environment profile must be a mapping")
    if "environments" in profile:
        raise linemap.error(("environments", env, "environments"), "profiles cannot nest")
    try:
        merged = _merge(
            {k: v for k, v in data.items() if k != "environments"},
            profile,
            (),
            linemap,
            linemap,
            ("environments", env),
        )
    except (TypeError, AttributeError) as exc:
        raise linemap.error(("environments", env), f"cannot apply profile: {exc}") from exc
    merged["environments"] = envs
    try:
        doc = ManifestDoc.model_validate(merged)
    except ValidationError as exc:
        raise pydantic_errors_to_input_error(exc, linemap, model=ManifestDoc) from exc
    _check_references(doc, linemap)
    _check_sources(doc, linemap, manifest_dir(path))
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Manifest(path=path, sha256=sha, environment=env, doc=doc, linemap=linemap)


def _check_references(doc: ManifestDoc, linemap: LineMap) -> None:
    """Names that must be unique and references that must resolve: every problem at once."""
    problems = [
        *_duplicate_names(doc, linemap),
        *_group_references(doc, linemap),
        *_networking_problems(doc, linemap),
        *_alarm_references(doc, linemap),
    ]
    if problems:
        raise collect(problems)


def _duplicate_names(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    for key, field in _NAMED_LISTS.items():
        seen: set[str] = set()
        for i, item in enumerate(getattr(doc, field)):
            if item.name in seen:
                yield linemap.error((key, i, "name"), f"duplicate name {item.name!r}")
            seen.add(item.name)


def _unknown(linemap: LineMap, path: PathKey, what: str, name: str, names: list[str]) -> InputError:
    return linemap.error(path, f"no {what} named {name!r}" + suggest(name, names))


def _group_references(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    sg_names = [sg.name for sg in doc.security_groups]
    for i, ep in enumerate(doc.endpoints):
        if ep.security_group and ep.security_group not in sg_names:
            yield _unknown(
                linemap, ("endpoints", i, "securityGroup"), "security group", ep.security_group, sg_names
            )
    networking = doc.lambda_.networking
    if "vpc-with-interface-endpoints" in networking.preference:
        if not networking.interface_security_group:
            yield linemap.error(
                ("lambda", "networking", "preference"),
                "vpc-with-interface-endpoints needs lambda.networking.interfaceSecurityGroup (the group "
                "of the interface endpoints that replace the gateway endpoints)",
            )
        elif networking.interface_security_group not in sg_names:
            yield _unknown(
                linemap,
                ("lambda", "networking", "interfaceSecurityGroup"),
                "security group",
                networking.interface_security_group,
                sg_names,
            )
    if set(VPC_MODES) & set(networking.preference) and networking.security_group not in sg_names:
        yield _unknown(
            linemap,
            ("lambda", "networking", "securityGroup"),
            "security group",
            networking.security_group,
            sg_names,
        )


VPC_MODES: tuple[NetworkMode, ...] = ("vpc-with-endpoints", "vpc-with-interface-endpoints", "vpc-with-nat")


def _networking_problems(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    networking = doc.lambda_.networking
    if "vpc-with-nat" in networking.preference and not doc.vpc.public_subnets:
        yield linemap.error(("vpc", "publicSubnets"), "vpc-with-nat needs public subnets for the NAT gateway")
    endpoint_only = [m for m in networking.preference if m in ENDPOINT_ONLY_MODES]
    if not endpoint_only:
        return
    services = {ep.service for ep in doc.endpoints}
    for i, fn in enumerate(doc.functions):
        missing = sorted(set(fn.uses) - services)
        if missing:
            yield linemap.error(
                ("functions", i, "uses"),
                f"{endpoint_only[0]} needs an endpoint for {', '.join(missing)}; add it to endpoints",
            )


def _alarm_references(doc: ManifestDoc, linemap: LineMap) -> Iterator[InputError]:
    fn_names = [f.name for f in doc.functions]
    topic_names = [t.name for t in doc.topics]
    stream_names = [s.name for s in doc.streams]
    for i, alarm in enumerate(doc.alarms):
        if alarm.topic not in topic_names:
            yield _unknown(linemap, ("alarms", i, "topic"), "topic", alarm.topic, topic_names)
        if alarm.function and alarm.function not in fn_names:
            yield _unknown(linemap, ("alarms", i, "function"), "function", alarm.function, fn_names)
        if alarm.stream and alarm.stream not in stream_names:
            yield _unknown(linemap, ("alarms", i, "stream"), "stream", alarm.stream, stream_names)


def _check_sources(doc: ManifestDoc, linemap: LineMap, base_dir: Path) -> None:
    """Every function source is a file inside the project (no absolute path, no escape, no symlink out)."""
    root = project_root(base_dir)
    for i, fn in enumerate(doc.functions):
        problem = source_problem(root, base_dir, fn.source)
        if problem:
            raise linemap.error(("functions", i, "source"), problem)
