"""Writing a configuration file (``jindianzi setup``): the commented example
(``config.example.toml``) with the operator's answers put in, so the file explains every
key as the example does. tomlkit edits TOML keeping its comments and layout.

The file is written beside its target and renamed into place once complete and valid, with
mode 0600 (it may hold the bot token), never over an existing file unless asked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit

from bot.config import ConfigError, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def render(answers: Mapping[str, Mapping[str, Any]], example: Path = EXAMPLE) -> str:
    """The example's text with ``answers`` (section -> key -> value) put in."""
    document = tomlkit.parse(example.read_text(encoding="utf-8"))
    for section, values in answers.items():
        table = document.get(section)
        if table is None:
            table = tomlkit.table()
            document[section] = table
        for key, value in values.items():
            table[key] = value
    return tomlkit.dumps(document)


def write_config(path: Path, text: str, *, overwrite: bool) -> None:
    """Write ``text`` to ``path`` (mode 0600) once it loads as a valid configuration;
    raises :class:`ConfigError` (nothing written) or :class:`FileExistsError`."""
    if path.exists() and not overwrite:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            load_settings(partial)
        except ConfigError as exc:  # name the file the operator will have, not the .part
            raise ConfigError(str(path), exc.problems) from None
        partial.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
