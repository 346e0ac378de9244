"""The words and phrases a query is read by: references, names, constraints, kinds, ways."""

from __future__ import annotations

# Words that introduce the artifact referred to (it follows them) ...
BEFORE = (
    ("alternative", "to"),
    ("alternatives", "to"),
    ("alternative", "for"),
    ("alternatives", "for"),
    ("alternative", "of"),
    ("alternatives", "of"),
    ("similar", "to"),
    ("instead", "of"),
    ("replacement", "for"),
    ("replacement", "of"),
    ("substitute", "for"),
    ("cheaper", "than"),
    ("better", "than"),
    ("other", "than"),
    ("competitor", "to"),
    ("competitors", "to"),
    ("competitor", "of"),
    ("competitors", "of"),
    ("switch", "from"),
    ("switch", "away", "from"),
    ("move", "off"),
    ("move", "away", "from"),
    ("migrate", "from"),
    ("migrate", "off"),
    ("swap", "out"),
    ("swap",),
    ("ditch",),
    ("besides",),
    ("apart", "from"),
    ("rather", "than"),
    ("in", "place", "of"),
    ("same", "as"),
    ("equivalent", "to"),
    ("equivalent", "of"),
    ("comparable", "to"),
    ("compete", "with"),
    ("competes", "with"),
    ("substitutes", "for"),
    ("replacements", "for"),
    ("similar", "tools", "to"),
    ("similar", "apps", "to"),
    ("similar", "models", "to"),
    ("similar", "services", "to"),
    ("like",),
    ("replace",),
    ("replacing",),
    ("vs",),  # when only the other side names something ("open source vs midjourney")
    ("versus",),
)
# ... or follow it.
AFTER = (
    ("alternative",),
    ("alternatives",),
    ("competitor",),
    ("competitors",),
    ("replacement",),
    ("clone",),
    ("equivalent",),
    ("substitute",),
    ("substitutes",),
    ("replacements",),
    ("rival",),
    ("rivals",),
    ("killer",),
    ("but",),
)
# Words that introduce X only when the query also sets a constraint: "a free version of
# midjourney", "open source version of chatgpt" ("the latest version of llama" names Llama).
CONSTRAINED_BEFORE = (("version", "of"), ("versions", "of"), ("take", "on"))
MAX_NAME_WORDS = 5
# Abbreviations people type that the catalog's texts spell out: each is matched with its
# spelling after it ("vector db" as "vector db database"). Not those the texts use as they
# are ("tts", "ocr" stand in names and descriptions, and spelled out they match worse).
ABBREVIATIONS = {
    "db": "database",
    "dbs": "databases",
    "rag": "retrieval augmented generation",
    "asr": "speech recognition",
    "stt": "speech to text",
    "llm": "large language model",
    "llms": "large language models",
    "vlm": "vision language model",
    "img": "image",
}
_STT_TASK, _TTS_TASK = "speech-recognition", "text-to-speech"
# Words that say what a named thing is, around its name: "kokoro tts", "chroma vector db",
# "whisper speech to text" name Kokoro, Chroma and Whisper.
DESCRIPTORS = frozenset(
    "tts stt asr ocr llm llms embedding embeddings embedder reranker vector db database video "
    "videos image images photo music song audio voice speech text to transcription detection "
    "segmentation classifier classification generator generation editor ide framework "
    "library sdk agent assistant chatbot bot server model models api app cli tool tools open "
    "source weights cloning coding search engine".split()
)
# Abbreviations that stand for one task, as the catalog names it ("openai tts").
TASK_ABBREVIATIONS = {"tts": _TTS_TASK, "stt": _STT_TASK, "asr": _STT_TASK}
CORE_NAME_MIN = 0.5  # a name among descriptors counts when it resolves at least this well
TASK_WORD_SHARE = 0.15  # a word in more tasks than this says nothing of which member is meant
# Words between two names that ask to compare them: "whisper vs deepgram", "gemini flash or
# gpt-4o mini"; "and", "with", "to" only after a word asking for a comparison ("compare gpt-4o
# and claude sonnet", "difference between ollama and lm studio").
COMPARED = (("vs",), ("versus",), ("compared", "to"), ("compared", "with"), ("or",))
VERSUS = (("vs",),)
NOT_VERSUS = frozenset({"code"})  # after "vs", a name: VS Code, the editor
COMPARE_CUES = frozenset("compare comparing comparison between difference differences".split())
JOINED = (("and",), ("with",), ("to",))
# Words a question about names starts with, said before the name: "which is cheaper, X or Y",
# "what is groq", "is deepseek open source".
QUESTION = frozenset(
    "which what whats is are was does do better best cheaper faster compare comparing "
    "comparison between difference differences the should i we use pick choose one tell me "
    "about how good".split()
)
# Phrases that say which way a task goes, and the task that goes the other way: an artifact
# doing that one is the opposite of what was asked ("speech to text": not a TTS model).
_STT, _TTS, _I2T, _T2I = _STT_TASK, _TTS_TASK, "image-to-text", "text-to-image"
DIRECTIONS: dict[tuple[str, ...], tuple[str, str]] = {  # phrase: (task asked, its opposite)
    ("speech", "to", "text"): (_STT, _TTS),
    ("voice", "to", "text"): (_STT, _TTS),
    ("audio", "to", "text"): (_STT, _TTS),
    ("transcribe",): (_STT, _TTS),
    ("transcription",): (_STT, _TTS),
    ("text", "to", "speech"): (_TTS, _STT),
    ("text", "to", "voice"): (_TTS, _STT),
    ("image", "to", "text"): (_I2T, _T2I),
    ("text", "to", "image"): (_T2I, _I2T),
}
# The same, said as "<what goes in> ... to/into <what comes out>": "turn a photo of a
# whiteboard into text", "convert my voice recordings to text".
MEDIA = {
    "speech": frozenset(
        "speech voice audio recording recordings podcast podcasts audiobook audiobooks".split()
    ),
    "text": frozenset(
        "text transcript transcripts article articles blog post posts book books ebook ebooks "
        "document documents notes story stories script scripts newsletter description "
        "descriptions prompt prompts".split()
    ),
    "image": frozenset("image images photo photos picture pictures screenshot screenshots".split()),
}
WAYS = {
    ("speech", "text"): (_STT, _TTS),
    ("text", "speech"): (_TTS, _STT),
    ("image", "text"): (_I2T, _T2I),
    ("text", "image"): (_T2I, _I2T),
}
# Words that say nothing of the need once a reference and constraints are taken out.
FILLER = frozenset(
    "a an the something one some that which who is are be to for of on in my me i with but "
    "and or it its runs run can could would please want need looking any".split()
)

# Words that say nothing of what is needed next to a reference: in "what are good alternatives
# to github copilot", "tool like open interpreter", "comfyui alternative that is easier", X's
# capabilities are the whole need.
REFERENCE_FILLER = FILLER | frozenset(
    "what whats which good best great top nice decent solid there m im s else other options "
    "option version versions tool tools app apps service services product products solution "
    "solutions software thing things stuff anything out use using used currently now today "
    "instead recommend recommendations suggest suggestions find looking better easier simpler "
    "nicer".split()
)

# Constraint phrases (folded words) → the constraint they set, and how it is shown.
CONSTRAINTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "free": (("free",), ("for", "free"), ("no", "cost"), ("gratis",), ("free", "tier")),
    "open": (
        ("open", "source"),
        ("opensource",),
        ("oss",),
        ("open", "weights"),
        ("open", "weight"),
        ("open", "model"),
        ("open", "licensed"),
    ),
    "local": (
        ("self", "hosted"),
        ("selfhosted",),
        ("self", "host"),
        ("host", "it", "myself"),
        ("host", "ourselves"),
        ("host", "it", "ourselves"),
        ("our", "own", "servers"),
        ("our", "servers"),
        ("our", "own", "hardware"),
        ("on", "prem"),
        ("on", "premise"),
        ("on", "premises"),
        ("offline",),
        ("local",),
        ("locally",),
        ("on", "device"),
        ("ondevice",),
        ("my", "own", "machine"),
        ("my", "machine"),
        ("my", "laptop"),
        ("my", "own", "computer"),
        ("my", "computer"),
        ("my", "pc"),
        ("my", "own", "hardware"),
        ("my", "own", "server"),
        ("my", "own", "servers"),
        ("my", "own", "gpu"),
        ("without", "the", "cloud"),
        ("no", "cloud"),
        ("without", "sending"),
        ("without", "uploading"),
        ("doesn", "t", "send"),
        ("does", "not", "send"),
        ("never", "leaves"),
        ("never", "leave"),
        ("stays", "on"),
        ("without", "internet"),
        ("no", "internet"),
        ("private",),
        ("privately",),
    ),
    "api": (("api",), ("apis",), ("rest", "api"), ("endpoint",), ("sdk",)),
    "cheap": (
        ("cheap",),
        ("cheaper",),
        ("cheapest",),
        ("inexpensive",),
        ("low", "cost"),
        ("affordable",),
        ("budget",),
    ),
    "commercial": (("commercial",), ("commercially",), ("for", "business")),
    "small": (
        ("mac",),
        ("macbook",),
        ("cpu",),
        ("laptop",),
        ("no", "gpu"),
        ("without", "a", "gpu"),
        ("without", "gpu"),
        ("apple", "silicon"),
        ("raspberry", "pi"),
        ("small",),
        ("smaller",),
        ("lightweight",),
        ("tiny",),
        ("on", "my", "phone"),
        ("on", "a", "phone"),
        ("on", "phones"),
        ("on", "mobile"),
        ("on", "android"),
        ("on", "iphone"),
        ("edge", "devices"),
    ),
}
# Words before an assistant the asker already has and wants to extend: "let claude query my
# database", "give cursor access to my github", "so claude can search the web". What is asked
# for is then a connector (an MCP server) doing the rest, not the assistant.
HOST_CUES = frozenset("let lets give allow connect so".split())
HOST_KINDS = frozenset(("web-app", "cli", "agent"))  # an assistant, or what MCP servers plug into
# An assistant not named ("give my assistant access to my files"); not after "let", where
# the asker may want the agent itself ("let an ai agent browse the web for me").
ANY_HOST = frozenset("assistant ai llm llms model chatbot bot".split())
ANY_HOST_CUES = HOST_CUES - {"let", "lets"}

# Kinds exact enough that an artifact of another kind cannot be what was asked for.
STRICT_KINDS = frozenset(("mcp-server", "cli"))
# The kinds of artifact a looser kind word fits: people call a library or a tool that acts
# for them an "agent" (browser-use "fills out web forms"), but never a bare model.
ACCEPTS = {"agent": frozenset(("agent", "library", "tool", "cli", "web-app"))}
SHOWN = {
    "free": "free",
    "open": "open weights / open source",
    "local": "runs locally",
    "api": "has an API",
    "cheap": "cheap",
    "commercial": "commercial use",
    "small": "runs on a laptop / CPU",
}
KIND_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "mcp-server": (("mcp", "server"), ("mcp", "servers"), ("mcp",)),
    "cli": (("cli",), ("command", "line"), ("commandline",), ("terminal",)),
    "agent": (("agent",), ("agents",), ("agentic",)),
    "library": (("library",), ("framework",), ("python", "package")),
    "web-app": (("web", "app"), ("website",), ("chat", "app")),
}
# A kind word is not the kind asked for when it is what the asker has or works on ("a model
# with function calling for my agent", "build a voice agent", "search my photo library",
# "debug my mcp server"): right after these words (articles apart), or a verb of making or
# working on it shortly before.
OWNED = frozenset("my our your for photo photos image images music video videos media".split())
MAKING = frozenset(
    "build building create creating make making develop developing write writing train "
    "training tune tuning finetune quantize quantizing serve serving deploy deploying host "
    "hosting evaluate evaluating monitor monitoring benchmark test testing debug debugging "
    "trace tracing observe".split()
)
ARTICLES = frozenset(("a", "an", "the"))
