"""An online engine that hangs never holds an announcement hostage.

Google's endpoint is the local fake in "hang" mode: it accepts the connection and never
answers, like a firewall that drops the replies, until the test lets it answer late.
TTS_TIMEOUT is 60 s here: an announcement that waited for it would hit pytest's timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from sonos_bridge.audio.clip_cache import Clip, ClipCache, clip_key
from sonos_bridge.audio.speech.engines import Engine, EspeakEngine, GttsEngine
from sonos_bridge.audio.speech.synthesizer import Synthesizer
from sonos_bridge.errors import SpeechError
from testkit.fakes.google_tts import FakeGoogle
from testkit.waits import eventually

HANG_TIMEOUT = 60.0


SynthFactory = Callable[..., Synthesizer]


@pytest.fixture
def make_synth(cache: ClipCache, google: FakeGoogle) -> Iterator[SynthFactory]:
    """Synthesizers over the hanging fake; at the end Google answers and every call ends."""
    google.mode = "hang"
    made: list[Synthesizer] = []

    def make(engines: list[Engine], *, rest: float = 60, deadline: float) -> Synthesizer:
        made.append(Synthesizer(engines, cache, rest_seconds=rest, online_deadline=deadline))
        return made[-1]

    yield make
    google.answer_held()
    for synth in made:
        synth.close(wait=True)


@pytest.fixture
def hedged(make_synth: SynthFactory) -> Synthesizer:
    return make_synth([GttsEngine(timeout=HANG_TIMEOUT), EspeakEngine(timeout=5)], deadline=0.3)


def spoken_by(synth: Synthesizer, clip: Clip, text: str) -> str:
    for engine in synth.engines:
        if clip.key == clip_key(engine.name, engine.voice_for("en") or "", text):
            return engine.name
    return "?"


def test_hanging_google_the_local_engine_speaks_and_the_late_answer_is_cached(
    hedged: Synthesizer, cache: ClipCache, google: FakeGoogle
) -> None:
    clip = hedged.speak("Dinner is ready", "en")
    assert spoken_by(hedged, clip, "Dinner is ready") == "espeak"
    assert google.held == 1  # spoken while Google still holds the request
    google.answer_held()
    eventually(lambda: cache.get("gtts", "en", "Dinner is ready") is not None, "gTTS clip cached")
    again = hedged.speak("Dinner is ready", "en")
    assert again.path.read_bytes() == google.audio  # the online voice, from the cache
    assert google.requests == 1


def test_while_google_is_overdue_later_announcements_do_not_ask_it(
    hedged: Synthesizer, google: FakeGoogle
) -> None:
    hedged.speak("First", "en")
    second = hedged.speak("Second", "en")
    assert spoken_by(hedged, second, "Second") == "espeak"
    assert google.requests == 1 and google.held == 1


def test_when_only_google_can_speak_an_overdue_call_is_awaited(
    make_synth: SynthFactory, google: FakeGoogle
) -> None:
    synth = make_synth([GttsEngine(timeout=HANG_TIMEOUT)], deadline=0.1)
    future = synth.submit("Only Google", "en")
    eventually(lambda: google.held == 1, "the request held")
    google.answer_held()
    assert future.result(30).path.read_bytes() == google.audio


def test_a_rested_engine_is_probed_in_the_background_not_on_the_request(
    make_synth: SynthFactory,
    cache: ClipCache,
    google: FakeGoogle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    google.mode = "500"
    # Rest 0 s: the engine is due its probe at once. A deadline of 60 s: a request that
    # waited for the probe would hang until pytest's timeout.
    engines: list[Engine] = [GttsEngine(timeout=HANG_TIMEOUT), EspeakEngine(timeout=5)]
    synth = make_synth(engines, rest=0, deadline=HANG_TIMEOUT)
    with caplog.at_level(logging.INFO):
        synth.speak("Fails over", "en")  # Google answers 500 at once: espeak speaks
        google.mode = "hang"
        probed = synth.speak("Probe text", "en")
        assert spoken_by(synth, probed, "Probe text") == "espeak"
        eventually(lambda: google.held == 1, "the probe sent in the background")
        google.answer_held()
        eventually(lambda: cache.get("gtts", "en", "Probe text") is not None, "probe clip cached")
    assert any("gtts works again" in r.getMessage() for r in caplog.records)
    google.mode = "ok"
    back = synth.speak("Google again", "en")
    assert back.path.read_bytes() == google.audio


def test_a_hanging_call_that_fails_late_leaves_the_announcement_spoken(
    make_synth: SynthFactory, cache: ClipCache
) -> None:
    synth = make_synth([GttsEngine(timeout=0.5), EspeakEngine(timeout=5)], deadline=0.1)
    clip = synth.speak("Timed out later", "en")
    assert spoken_by(synth, clip, "Timed out later") == "espeak"
    # gTTS's own timeout ends the call: the engine rests, nothing empty is cached.
    eventually(lambda: "resting" in synth.health.availability("gtts")[1], "gtts resting")
    assert cache.get("gtts", "en", "Timed out later") is None


def test_every_engine_failing_after_a_hedge_names_both(make_synth: SynthFactory) -> None:
    espeak = EspeakEngine(timeout=5, lame="/nonexistent/lame")
    synth = make_synth([GttsEngine(timeout=0.5), espeak], deadline=0.1)
    with pytest.raises(SpeechError, match=r"gtts: no answer within 0\.1 s.*espeak: cannot run"):
        synth.speak("Nobody", "en")
