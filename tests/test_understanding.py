"""Reading questions: names as people type them, families, and what a query asks for.

These run over the bundled catalog's records (every file of data/catalog) with no server:
the resolver and the intent reader are pure functions of the artifact rows.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CATALOG
from unfragile.engine.intent import literal, understand
from unfragile.engine.names import Names

LLAMAS = {
    "llama-3.1-70b-instruct",
    "llama-3.1-8b-instruct",
    "llama-3.2-3b-instruct",
    "llama-3.3-70b-instruct",
    "llama-4-maverick",
    "llama-4-scout",
}


@pytest.fixture(scope="module")
def names() -> Names:
    records = [
        json.loads(line)
        for path in sorted(CATALOG.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return Names(r for r in records if "kind" in r)  # the other records are search events


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("FLUX.1 Pro", "flux-1-pro"),
        ("flux pro", "flux-1-pro"),
        ("gpt4o", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("chat gpt", "chatgpt"),
        ("lama 3 70b", "llama-3.1-70b-instruct"),  # a typo
        ("sdxl", "stable-diffusion-xl-base-1.0"),  # an initialism
        ("sd3.5 large", "stable-diffusion-3.5-large"),
        ("eleven labs", "elevenlabs-api"),  # two words for one
        ("dalle", "dall-e-3"),
        ("the openai api", "openai-api"),
        ("midjorney", "midjourney"),
        ("resnet50", "resnet-50"),
        # "ViT-L/14" in DINOv2's brackets describes its backbone: "vit" is ViT itself.
        ("vit", "vit-base-patch16-224"),
        ("hf", "huggingface-cli"),  # a second name in brackets still names it
        # "base" is a common word, but BGE-M3 lacks it: the BGE base model is meant.
        ("bge-base", "bge-base-en-v1.5"),
        ("bge m3", "bge-m3"),
        # A name without the version stuck on it names the versions ("yolo": YOLO11, YOLOv8).
        ("yolo", ("yolo11", "yolov8")),
        ("dino", "dinov2"),
        # The words a name lacks count less when they say which version or size: "stable
        # diffusion" is a Stable Diffusion image model before Stable Video Diffusion.
        (
            "stable diffusion",
            (
                "stable-diffusion-3.5-large",
                "stable-diffusion-3.5-medium",
                "stable-diffusion-xl-base-1.0",
            ),
        ),
        ("stable difusion", ("stable-diffusion-3.5-large", "stable-diffusion-3.5-medium")),
        ("whisper", "whisper-large-v3"),
        # The maker before the name: its artifacts of that name, or of that task.
        ("openai whisper", "whisper-large-v3"),
        ("openai clip", "clip-vit-base-patch32"),
        ("google gemma", ("gemma-2-9b", "gemma-3-27b-it", "gemma-3-4b-it", "gemma-3n-e4b-it")),
        ("openai embeddings", ("text-embedding-3-small", "text-embedding-3-large")),
    ],
)
def test_names_resolve_as_people_type_them(names, text, first):
    assert names.resolve(text)[0][0] in ((first,) if isinstance(first, str) else first)


@pytest.mark.parametrize("text", ["image classification", "free", "open source", "api", "best"])
def test_plain_words_name_nothing(names, text):
    assert names.resolve(text) == []


def test_llama_is_the_llama_family_not_ollama(names):
    found = {a for a, _ in names.resolve("llama")}
    assert "ollama" not in found
    assert {"llama-3.1-8b-instruct", "llama-3.1-70b-instruct"} <= found


@pytest.mark.parametrize(
    ("artifact", "family", "not_in"),
    [
        (
            "flux-1-pro",
            # FLUX1.1 [pro] too: "flux1" is "flux" with its version stuck on.
            {"flux-1-pro", "flux-1-dev", "flux-1-schnell", "flux-1-kontext-pro", "flux-1.1-pro"},
            {"stable-diffusion-3.5-large"},
        ),
        (
            "whisper-large-v3",
            {"whisper-large-v3", "whisper-tiny", "whisper-cpp", "whisper-large-v3-turbo"},
            {"parakeet-tdt-0.6b-v2"},
        ),
        (
            "chatgpt",
            {"chatgpt", "gpt-4o", "openai-api", "dall-e-3", "text-embedding-3-small", "gpt-5"},
            {"claude-ai", "gemini-app"},
        ),
        (
            "claude-ai",
            {"claude-ai", "claude-3-5-sonnet", "anthropic-api", "claude-sonnet-4-5"},
            {"chatgpt", "gpt-4o"},
        ),
        ("midjourney", {"midjourney", "midjourney-v6", "midjourney-v7"}, {"flux-1-pro"}),
        ("mcp-server-git", {"mcp-server-git"}, {"mcp-server-github"}),  # GitHub's is another
        ("ollama", {"ollama"}, {"llama-cpp"}),
        ("yolo11", {"yolo11", "yolov8"}, {"rt-detr"}),
        ("qwen3-8b", {"qwen3-8b", "qwen2.5-7b-instruct", "qwen3-coder-480b-a35b-instruct"}, set()),
        ("owlv2", {"owlv2", "owl-vit"}, {"vit-base-patch16-224"}),
    ],
)
def test_families(names, artifact, family, not_in):
    found = names.family(artifact)
    assert family <= found and not (not_in & found)
    if len(family) == 1:
        assert found == family


@pytest.mark.parametrize(
    ("query", "reference", "constraints"),
    [
        ("alternative to ChatGPT", {"chatgpt"}, ()),
        ("alternatives to gpt4o", {"gpt-4o"}, ()),
        (
            "something like flux pro but free",
            {"flux-1-pro", "flux-1.1-pro", "flux-1-kontext-pro"},  # each is a FLUX pro
            ("free",),
        ),
        ("open source alternative to midjourney", {"midjourney"}, ("open",)),
        ("midjourney alternative that runs locally", {"midjourney"}, ("local",)),
        ("instead of DALL-E 3", {"dall-e-3"}, ()),
        ("similar to ElevenLabs", {"elevenlabs-api"}, ()),
        ("replace copilot", {"github-copilot", "github-copilot-cli"}, ()),
        ("cheaper than deepgram", {"deepgram-api"}, ()),
        ("sdxl but faster", {"stable-diffusion-xl-base-1.0"}, ()),
        ("poe alternative", {"poe"}, ()),
        (
            "like whisper",
            {"whisper-large-v3", "whisper-tiny", "whisper-cpp", "whisper-large-v3-turbo"},
            (),
        ),
        # A provider's name with a task word: that provider's artifacts for that task.
        (
            "alternative to openai embeddings",
            {"text-embedding-3-small", "text-embedding-3-large"},
            (),
        ),
        ("mistral alternative for ocr", {"mistral-ocr"}, ()),
        ("alternative to chatgpt for images", {"dall-e-3", "gpt-image-1"}, ()),
        # One artifact has the name exactly: it alone describes the need (GPT-4o's speech
        # siblings are still left out with the family).
        ("alternative to gpt4o", {"gpt-4o"}, ()),
        # More ways people say it (bench/queries/probes-session12.txt).
        ("swap out pinecone for something free", {"pinecone"}, ("free",)),
        ("similar tools to ollama", {"ollama"}, ()),
        ("other options besides langchain", {"langchain"}, ()),
        ("deepgram competitors", {"deepgram-api"}, ()),
        ("free version of midjourney", {"midjourney"}, ("free",)),
        ("is there something like chatgpt that runs on my own computer", {"chatgpt"}, ("local",)),
        ("llama but smaller", LLAMAS, ("small",)),
        ("migrate from pinecone", {"pinecone"}, ()),
        # The maker's name first, and "with" after the name is not part of it.
        (
            "replace openai whisper api with something cheaper",
            {"whisper-large-v3", "whisper-large-v3-turbo", "whisper-tiny"},
            ("cheap",),
        ),
        # A plan or tier after a name no name has is the name's (probes-session13.txt).
        ("free alternative to chatgpt plus", {"chatgpt"}, ("free",)),
        # A maker whose name is also a product's exact name is the product (LangChain, not
        # LangChain Inc.'s agent library).
        ("what's a good alternative to langchain for agents", {"langchain"}, ()),
    ],
)
def test_references_and_their_constraints(names, query, reference, constraints):
    u = understand(query, names)
    assert set(u.reference) == reference
    assert set(u.excluded) >= reference
    assert u.constraints == constraints
    assert u.label.startswith("like ")


@pytest.mark.parametrize(
    ("query", "constraints", "kind"),
    [
        ("free text to speech api", ("free", "api"), None),
        ("open weights image model I can self-host", ("open", "local"), None),
        ("transcribe audio offline on my macbook", ("local", "small"), None),
        ("cheap embeddings for commercial use", ("cheap", "commercial"), None),
        ("mcp server for postgres", (), "mcp-server"),
        ("a command line tool to chat with llms", (), "cli"),
        ("I'd like a model for transcription", (), None),  # "like" with nothing named
        ("I would like to transcribe a podcast", (), None),  # "like to" refers to nothing
        ("the latest version of llama", (), None),  # "version of" only with a constraint
        ("model to run on my phone", ("small",), None),
        # What the asker has or works on is not the kind asked for.
        ("find similar images in my photo library", (), None),
        ("model with function calling for my agent", (), None),
        ("build a voice agent that answers phone calls", (), None),
        ("debug my mcp server", (), None),
        ("framework to build ai agents in typescript", (), "library"),
        ("agent that can fill out web forms for me", (), "agent"),
    ],
)
def test_constraints_and_kinds(names, query, constraints, kind):
    u = understand(query, names)
    assert u.reference == ()
    assert u.constraints == constraints
    assert u.kind == kind


def test_a_name_alone_is_named_not_referred_to(names):
    u = understand("stable diffusion xl", names)
    assert u.reference == ()
    assert u.named[0][0] == "stable-diffusion-xl-base-1.0"
    assert "Stable Diffusion XL" in u.label


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("kokoro tts", "kokoro-82m"),
        ("chroma vector db", "chroma"),
        ("sam segmentation", "sam"),
        ("langchain framework", "langchain"),
        ("perplexity search engine", "perplexity"),
        ("chatterbox voice cloning", "chatterbox"),
    ],
)
def test_a_name_with_words_saying_what_it_is_is_still_named(names, query, first):
    u = understand(query, names)
    assert u.reference == () and u.named[0][0] == first


@pytest.mark.parametrize(
    "query",
    [
        "vector db",
        "image generator",
        "code review agent",
        "open source llm",
        # One word that is half of a two-word name is a word ("Semantic Kernel").
        "embedding model for semantic search",
    ],
)
def test_words_saying_what_something_is_name_nothing_alone(names, query):
    assert understand(query, names).named == ()


def test_a_tier_word_no_name_has_leaves_the_name(names):
    assert names.resolve("chatgpt plus")[0][0] == "chatgpt"
    assert understand("free alternative to chatgpt plus", names).need == ""
    # Where a name has the word, it still tells the names apart.
    assert [a for a, _ in names.resolve("stable diffusion xl")] == ["stable-diffusion-xl-base-1.0"]
    assert {a for a, _ in names.resolve("flux pro")} == {
        "flux-1-pro",
        "flux-1.1-pro",
        "flux-1-kontext-pro",
    }


def test_x_but_for_y_asks_for_y_the_way_x_does_it(names):
    u = understand("something like whisper.cpp but for llms", names)
    assert u.reference == ("whisper-cpp",) and u.for_other
    assert u.need.startswith("llms") and "but for llms, not" in u.label  # as typed
    # "but" with a constraint, or a need without "but for", is X's need with more to it.
    assert not understand("like midjourney but free", names).for_other
    assert not understand("alternative to whisper for meetings", names).for_other


def test_x_vs_y_names_both_and_leaves_neither_out(names):
    u = understand("ollama vs lm studio", names)
    assert u.reference == () and u.excluded == ()
    assert {a for a, s in u.named if s == 1.0} == {"ollama", "lm-studio"}
    assert u.label == "named: Ollama vs LM Studio"
    v = understand("GPT-4o versus claude 3.5 sonnet", names)
    assert {a for a, s in v.named if s == 1.0} == {"gpt-4o", "claude-3-5-sonnet"}
    # One side naming nothing: "vs X" asks for something else than X, as before.
    w = understand("open source vs midjourney", names)
    assert w.reference == ("midjourney",) and w.named == ()


@pytest.mark.parametrize(
    "query",
    [
        "mcp server for vs code",
        "ai coding assistant that works in vs code",
        "vs code alternative",
        "alternative to vs code",
    ],
)
def test_vs_code_is_the_editor_not_a_comparison(names, query):
    # "vs" before "code" is VS Code (which the catalog lacks): not "versus Claude Code".
    u = understand(query, names)
    assert (u.reference, u.named, u.excluded) == ((), (), ())
    assert "code" in u.need.split()


@pytest.mark.parametrize(
    ("query", "both", "shown"),
    [
        ("compare gpt 4o and claude 3.5 sonnet", {"gpt-4o", "claude-3-5-sonnet"}, None),
        ("difference between ollama and lm studio", {"ollama", "lm-studio"}, None),
        (
            "which is cheaper, gpt-4o mini or claude haiku 4.5",
            {"gpt-4o-mini", "claude-haiku-4-5"},
            None,
        ),
        ("whisper.cpp or deepgram for meetings", {"whisper-cpp", "deepgram-api"}, None),
        # The words around a name may point at a member of its family.
        ("elevenlabs vs openai tts", {"elevenlabs-api", "gpt-4o-mini-tts"}, "vs GPT-4o mini TTS"),
    ],
)
def test_questions_comparing_two_names_name_both(names, query, both, shown):
    u = understand(query, names)
    assert u.reference == () and {a for a, s in u.named if s == 1.0} == both
    assert shown is None or u.label.endswith(shown)


@pytest.mark.parametrize(
    "query", ["transcribe and translate a french podcast", "free or cheap image generator"]
)
def test_and_or_between_words_that_name_nothing_compare_nothing(names, query):
    assert understand(query, names).named == ()


@pytest.mark.parametrize(
    ("query", "first"), [("what is groq", "groq"), ("is ollama open source", "ollama")]
)
def test_a_question_about_a_name_names_it(names, query, first):
    assert understand(query, names).named[0][0] == first


def test_abbreviations_are_matched_with_their_spelling(names):
    u = understand("vector db for my rag app", names)
    assert u.text == "vector db for my rag app"  # shown as typed
    assert u.matched == "vector db database for my rag retrieval augmented generation app"
    assert u.as_dict()["spelled"] == u.matched and "database" in u.need
    # A query that names something is matched as typed: "llm" is also the CLI's name.
    named = understand("llm", names)
    assert named.named[0][0] == "llm" and named.matched == "llm" and named.spelled == ""
    assert understand("whisper alternative", names).spelled == ""


@pytest.mark.parametrize(
    ("query", "opposite"),
    [
        ("speech to text on my laptop", ("text-to-speech",)),
        ("fast stt for english", ("text-to-speech",)),  # through its spelling
        ("transcribe a podcast", ("text-to-speech",)),
        ("text to speech for audiobooks", ("speech-recognition",)),
        ("text to image api", ("image-to-text",)),
        ("turn a photo of a whiteboard into text", ("text-to-image",)),
        ("convert my voice recordings to text", ("text-to-speech",)),
        ("speech to text and text to speech in one api", ()),  # both ways asked: neither
        ("generate music", ()),
        ("turn my blog posts into audio", ("speech-recognition",)),
        ("make images from text descriptions", ("image-to-text",)),
    ],
)
def test_the_way_a_task_goes_is_read(names, query, opposite):
    assert understand(query, names).opposite == opposite


@pytest.mark.parametrize(
    ("query", "host", "matched"),
    [
        ("let claude query my database", "Claude", "let query my database"),
        ("give cursor access to my github", "Cursor", "give access to my github"),
        ("mcp server so claude can search the web", "Claude", "mcp server so can search the web"),
        ("give my assistant access to my files", "assistant", "give my access to my files"),
    ],
)
def test_an_assistant_the_asker_extends_asks_for_a_connector(names, query, host, matched):
    u = understand(query, names)
    assert (u.host, u.matched, u.kind, u.reference) == (host, matched, "mcp-server", ())
    assert f"for {host}" in u.label


@pytest.mark.parametrize(
    "query",
    [
        "let an ai agent browse the web for me",  # the agent itself is wanted
        "prompts for midjourney",
        "let me transcribe a podcast",
    ],
)
def test_no_assistant_is_read_where_none_is_extended(names, query):
    assert understand(query, names).host == ""


def test_like_to_refers_to_nothing():
    # MetaTool has a tool named "ABC Music Notation to audio": "I'd like to know" once
    # referred to it, through the word "to".
    names = Names([{"id": "abc-to-audio", "name": "ABC music notation to audio", "kind": "tool"}])
    assert names.resolve("to") and understand("I'd like to know the status", names).reference == ()


def test_literal_reads_nothing_into_the_words(names):
    u = literal("open source alternative to midjourney")
    assert (u.reference, u.constraints, u.named, u.literal) == ((), (), (), True)
    assert u.need == "open source alternative to midjourney"
    assert u.as_dict()["literal"] is True


def test_did_you_mean_suggests_close_names_only(names):
    assert "flux-1-pro" in [a for a, _ in names.suggest("fluxx pr0")]
    assert [a for a, _ in names.suggest("claud")][:1] in (["claude-ai"], ["claude-3-5-sonnet"])
    assert names.suggest("no such wizardry") == []


def test_a_remembered_resolution_is_the_same_as_a_fresh_one(names):
    """resolve keeps what it worked out for a span; a second call (and a caller changing the
    list it got) must not change what a fresh resolver says."""
    fresh = Names(names.rows.values())
    for text in ("whisper", "llama", "flux pro", "gpt4o", "lama 3 70b", "stable diffusion"):
        first = names.resolve(text)
        first.append(("not-an-artifact", 1.0))
        assert names.resolve(text) == fresh.resolve(text) != []
