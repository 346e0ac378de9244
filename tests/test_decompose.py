"""Decomposing one long description into capabilities, checked on the real MetaTool plugins."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from unfragile.engine.decompose import MAX_TEXT, MAX_TITLE, DecomposedCapability, decompose

METATOOL = Path(
    os.environ.get(
        "UNFRAGILE_METATOOL_DIR", Path(__file__).resolve().parents[2] / "shared" / "metatool"
    )
)
INSTRUCTION_OPENERS = ("Always", "Never", "Do not", "Don't", "You must", "Please")


@pytest.fixture(scope="module")
def plugins() -> list[dict]:
    return json.loads((METATOOL / "plugin_info.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def decomposed(plugins) -> list[tuple[dict, list[DecomposedCapability]]]:
    return [
        (p, decompose(p["description_for_model"], fallback=p["description_for_human"]))
        for p in plugins
    ]


def _plugin(plugins: list[dict], name: str) -> dict:
    return next(p for p in plugins if p["name_for_model"] == name)


def _caps(plugins: list[dict], name: str) -> list[DecomposedCapability]:
    p = _plugin(plugins, name)
    return decompose(p["description_for_model"], fallback=p["description_for_human"])


def test_every_plugin_gives_bounded_capabilities_with_unique_titles(decomposed):
    assert len(decomposed) == 390
    for plugin, caps in decomposed:
        name = plugin["name_for_model"]
        assert 1 <= len(caps) <= 13, name
        for cap in caps:
            assert cap.title.strip() and len(cap.title) <= MAX_TITLE, (name, cap.title)
            assert cap.text.strip() and len(cap.text) <= MAX_TEXT, (name, cap.text)
            assert not cap.title.endswith((".", ",", ";", ":", "!", "?")), (name, cap.title)
        assert len({c.title for c in caps}) == len(caps), (name, [c.title for c in caps])
    # Long descriptions really are split: a good share of plugins has several capabilities.
    assert sum(len(caps) >= 2 for _, caps in decomposed) >= 120


def test_no_model_instructions_or_urls_survive(decomposed):
    for plugin, caps in decomposed:
        for cap in caps:
            where = (plugin["name_for_model"], cap.text)
            assert not cap.text.startswith(INSTRUCTION_OPENERS), where
            assert "INSTRUCTIONS" not in cap.text and "pay attention" not in cap.text.lower(), where
            assert "markdown" not in cap.text.lower() and "://" not in cap.text, where


def test_vio_com_is_one_capability_about_searching_hotels(plugins):
    caps = _caps(plugins, "vio_com")
    assert [c.title for c in caps] == ["Search for hotels or other accommodations in any place"]
    assert caps[0].text == "Search for hotels or other accommodations in any place."


def test_near_duplicate_sentences_merge_into_the_longer_one():
    caps = decompose(
        "Find cheap flights between any two cities. "
        "Finds cheap flights between any two cities worldwide. "
        "Book restaurant tables in Paris."
    )
    assert [c.title for c in caps] == [
        "Find cheap flights between any two cities worldwide",
        "Book restaurant tables in Paris",
    ]
    assert caps[0].text == "Finds cheap flights between any two cities worldwide."


def test_three_abilities_and_two_instructions_give_the_three_abilities():
    caps = decompose(
        "This plugin lets users search for hotels in any city. Always respond in the user's "
        "language. It also compares flight prices across airlines. Do not make up prices. "
        "Book rental cars at the destination airport."
    )
    assert [c.title for c in caps] == [
        "Search for hotels in any city",
        "Compare flight prices across airlines",
        "Book rental cars at the destination airport",
    ]


def test_enumerations_and_semicolon_clauses_are_split():
    numbered = decompose(
        "Travel helper: 1) Search flights between any two airports. 2) Book hotel rooms in any "
        "city. 3) Rent cars at the destination."
    )
    assert [c.title for c in numbered][-3:] == [
        "Search flights between any two airports",
        "Book hotel rooms in any city",
        "Rent cars at the destination",
    ]
    clauses = decompose(
        "Track parcels from over 100 carriers worldwide; estimate delivery dates for each "
        "shipment; send an alert when a parcel is delayed."
    )
    assert len(clauses) == 3


def test_colliding_titles_get_a_number():
    caps = decompose(
        "Compare prices of flights, hotels, rental cars and travel insurance offers from "
        "hundreds of providers worldwide. Compare prices of flights, hotels, rental cars and "
        "travel insurance offers for students and seniors with discount cards, loyalty points "
        "and vouchers."
    )
    assert len(caps) == 2
    assert caps[1].title == f"{caps[0].title} (2)"


def test_blank_input_gives_nothing():
    assert decompose("") == []
    assert decompose(" \n\t ", fallback="Search hotels.") == []


def test_nothing_left_falls_back():
    instructions = "Always answer in English. Never invent prices."
    assert decompose(instructions, fallback="Translate documents between languages.") == [
        DecomposedCapability(
            "Translate documents between languages", "Translate documents between languages."
        )
    ]
    # Without a fallback the first sentence stands in, so a non-empty input is never empty.
    assert [c.text for c in decompose(instructions)] == ["Always answer in English."]


def test_cap_keeps_the_first_capabilities_in_order(plugins):
    p = _plugin(plugins, "memecreator")
    full = decompose(p["description_for_model"])
    assert len(full) == 13
    assert decompose(p["description_for_model"], max_capabilities=3) == full[:3]


def test_deterministic(plugins, decomposed):
    again = [
        decompose(p["description_for_model"], fallback=p["description_for_human"])
        for p in reversed(plugins)
    ]
    assert again[::-1] == [caps for _, caps in decomposed]


def test_shownotes_lists_its_tasks_without_api_plumbing(plugins):
    caps = _caps(plugins, "shownotes")
    titles = [c.title for c in caps]
    assert len(caps) >= 7
    assert titles[0] == "Compress main ideas from a podcast transcript into a concise summary"
    assert "Deliver a general analysis or breakdown of a podcast transcript" in titles
    assert any("speaker" in c.text for c in caps) and any("trends" in c.text for c in caps)
    assert not any("endpoint" in c.text.lower() for c in caps)


def test_aviation_data_covers_each_report_kind(plugins):
    caps = _caps(plugins, "C3_Glide")
    assert len(caps) >= 3
    assert caps[0].title.startswith("Retrieve live aviation data")
    for kind in ("METAR", "TAF", "NOTAM"):
        assert any(kind in c.text for c in caps[1:]), kind


def test_calorie_logging_keeps_abilities_and_drops_json_rules(plugins):
    caps = _caps(plugins, "caloriechat")
    assert [c.title for c in caps] == [
        "Count and log food eating throughout a day",
        "Add food logs with food information such as calories",
    ]
    assert not any("JSON" in c.text or "ID attribute" in c.text for c in caps)


def test_job_search_keeps_search_and_drops_formatting_rules(plugins):
    caps = _caps(plugins, "Kyujinbox")
    assert [c.title for c in caps] == [
        "Search jobs in Japan",
        "Search jobs by keyword, location and employ type",
    ]
    assert not any("language asked" in c.text or "itemize" in c.text for c in caps)


def test_video_summariser_gives_several_video_abilities(plugins):
    caps = _caps(plugins, "MixerBox_ChatToVideo_YouTube_video_summarizer")
    assert len(caps) >= 3
    assert caps[0].title == "Organize various videos"
    assert any("summarize the key points" in c.text for c in caps)
