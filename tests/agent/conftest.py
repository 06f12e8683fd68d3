"""Fixtures for the agent tests: a small movie workspace, a tiny GPT-2, and a fake OpenAI-compatible server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

MOVIE_TRIPLES: tuple[tuple[str, str, str], ...] = (
    ("Alien", "directed_by", "Ridley Scott"),
    ("Alien", "starred_actors", "Sigourney Weaver"),
    ("Alien", "starred_actors", "Tom Skerritt"),
    ("Alien", "release_year", "1979"),
    ("Alien", "has_genre", "Horror"),
    ("Aliens", "directed_by", "James Cameron"),
    ("Aliens", "starred_actors", "Sigourney Weaver"),
    ("Aliens", "release_year", "1986"),
    ("Gorillas in the Mist", "starred_actors", "Sigourney Weaver"),
    ("Gorillas in the Mist", "directed_by", "Michael Apted"),
    ("Gorillas in the Mist", "has_genre", "Drama"),
    ("Gladiator", "directed_by", "Ridley Scott"),
    ("Blade Runner", "directed_by", "Ridley Scott"),
    ("Titanic", "directed_by", "James Cameron"),
    ("Nova (1998)", "directed_by", "Jane Roe"),
    ("Nova (1998)", "release_year", "1998"),
    ("Nova (2009)", "directed_by", "John Doe"),
    ("Nova (2009)", "release_year", "2009"),
    ("Nova (2009)", "has_genre", "Comedy"),
    # namesakes the question tells apart: a person and a tag
    ("Wedding Crashers", "starred_actors", "Owen Wilson"),
    ("Bottle Rocket", "has_tags", "owen wilson"),
)
# a prolific director: a long answer list to summarize
MOVIE_TRIPLES += tuple((f"Western {i}", "directed_by", "Sam Peck") for i in range(1, 16))
LABELS = {"Nova (1998)": "Nova", "Nova (2009)": "Nova"}
LITERALS = ("1979", "1986", "1998", "2009")


def build_movie_kg():
    from kgagent.kg import KnowledgeGraph

    return KnowledgeGraph.from_triples(MOVIE_TRIPLES, labels=LABELS, literals=LITERALS,
                                       descriptions={"Nova (1998)": "A 1998 thriller directed by Jane Roe.",
                                                     "Nova (2009)": "A 2009 comedy directed by John Doe."})


def make_workspace(root: Path, toml: str = "") -> Path:
    """A KG-only workspace (the agent falls back to its rule intents and relation matching)."""
    from kgagent.kg import Workspace

    build_movie_kg().save(Workspace(root).kg_dir)
    if toml:
        (root / "kgagent.toml").write_text(toml, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def workspace_factory():
    """``make_workspace(root, toml="")``: the movie KG saved as a workspace at ``root``."""
    return make_workspace


@pytest.fixture(scope="session")
def movie_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("movie-ws"))


@pytest.fixture
def fresh_ws(tmp_path: Path) -> Path:
    """A workspace of one's own (its own checkpoints file)."""
    return make_workspace(tmp_path / "ws")


@pytest.fixture(scope="session")
def graph(movie_ws: Path):
    """An in-memory agent over the movie workspace (each test uses its own thread ids)."""
    from kgagent.agent import build_agent

    return build_agent(movie_ws, checkpointer="memory")


def build_tiny_gpt2(directory: Path) -> Path:
    """A randomly initialized 2-layer GPT-2 with a byte-level BPE tokenizer trained on a few sentences."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["Alien was directed by Ridley Scott.", "Facts: Alien | directed_by | Ridley Scott",
              "User: who directed Alien? Assistant: Ridley Scott directed it.", "Sigourney Weaver starred in Aliens."]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.save_pretrained(directory)
    torch.manual_seed(0)
    # initializer_range 0.5: with the usual 0.02 the tied embeddings make near-uniform logits a LoRA cannot sharpen
    config = GPT2Config(vocab_size=len(fast), n_positions=512, n_embd=32, n_layer=2, n_head=2, initializer_range=0.5,
                        eos_token_id=fast.eos_token_id, bos_token_id=fast.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2")))


class FakeOpenAI:
    """A local OpenAI-compatible chat endpoint: streams a canned reply over SSE and records each request."""

    def __init__(self, reply: str = "Ridley Scott directed Alien.", pieces: int = 4) -> None:
        self.reply = reply
        self.pieces = pieces
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                if outer.fail_with:
                    self.send_response(outer.fail_with)
                    self.end_headers()
                    self.wfile.write(b'{"error": "boom"}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = outer.reply.split(" ")
                step = max(1, len(words) // outer.pieces)
                for i in range(0, len(words), step):
                    piece = " ".join(words[i: i + step]) + (" " if i + step < len(words) else "")
                    event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


# ----------------------------------------------------------------- real intent and QA models (tiny BERT)
_WORDS = ("who directed starred in what films did direct star when was released genre is the of which were by "
          "movies hello hi thanks thank you bye goodbye human person talk to a weather book flight pizza")
TINY_WORDS = tuple(_WORDS.split(" "))
QA_TEMPLATES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("directed_by",): ("who directed {}", "who was the director of {}"),
    ("starred_actors",): ("who starred in {}", "which actors were in {}"),
    ("release_year",): ("when was {} released", "what year was {} released"),
    ("has_genre",): ("what genre is {}", "which genre is {}"),
    ("directed_by^-1",): ("what films did {} direct", "which movies were directed by {}"),
    ("starred_actors^-1",): ("what films did {} star in", "which movies did {} star in"),
}
INTENT_EXAMPLES: dict[str, tuple[str, ...]] = {
    "greeting": ("hello", "hi", "hi there", "hello there", "good morning"),
    "thanks": ("thanks", "thank you", "thanks a lot", "thank you so much", "many thanks"),
    "goodbye": ("bye", "goodbye", "bye bye", "see you", "goodbye then"),
    "human_handoff": ("talk to a human", "can I talk to a person", "a human please", "I want a person",
                      "let me talk to a human"),
    "out_of_scope": ("what is the weather", "book a flight", "order a pizza", "weather tomorrow",
                     "book me a flight to rome"),
    "movie_question": ("who directed Alien", "who starred in Titanic", "what films did Sam Peck direct",
                       "when was Aliens released", "what genre is Gladiator"),
}


def build_tiny_bert(directory: Path) -> Path:
    """A randomly initialized 2-layer BERT with a WordPiece vocabulary of letters, digits and the test words."""
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    letters = list(string.ascii_lowercase + string.digits)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"?!.,'-:()", *letters, *(f"##{c}" for c in letters),
             *dict.fromkeys(TINY_WORDS)]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True).save_pretrained(directory)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(directory)
    return directory


def qa_examples(kg) -> list:
    """Template questions over the movie KG with their gold answers (MetaQA-style, topic known)."""
    from kgagent.training.qa_data import QAExample

    out = []
    for path, templates in QA_TEMPLATES.items():
        for e in range(kg.num_entities):
            gold = kg.follow([e], list(path))
            if not gold or kg.literal[e]:
                continue
            for t in templates:
                q = t.format(kg.labels[e])
                s = q.index(kg.labels[e])
                out.append(QAExample(q, (e,), tuple(gold), (s, s + len(kg.labels[e]))))
    return out


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny-bert")))


@pytest.fixture
def intents_jsonl(tmp_path: Path) -> Path:
    """INTENT_EXAMPLES as an intent data file (JSON lines)."""
    import json

    path = tmp_path / "intents.jsonl"
    path.write_text("".join(json.dumps({"text": t, "intent": k}) + "\n" for k, ts in INTENT_EXAMPLES.items()
                            for t in ts), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def agent_bert(tiny_bert_dir: str) -> Path:
    """The tiny BERT of the trained workspace's models."""
    return Path(tiny_bert_dir)


@pytest.fixture(scope="session")
def trained_ws(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: str) -> Path:
    """The movie workspace with a real (tiny, briefly trained) intent model and QA model in ``models/``."""
    from kgagent.kg.config import make_config
    from kgagent.training.intents import IntentConfig, IntentData, IntentSplit, train_intents
    from kgagent.training.qa import QAConfig, fit_qa

    root = make_workspace(tmp_path_factory.mktemp("trained-ws"))
    bert = tiny_bert_dir
    texts = [t for ts in INTENT_EXAMPLES.values() for t in ts]
    labels = [k for k, ts in INTENT_EXAMPLES.items() for _ in ts]
    train_intents(IntentData(root / "intents.jsonl", IntentSplit(texts, labels)),
                  make_config(IntentConfig, {"base_model": bert, "finetune": "full", "fusion": "none", "epochs": 3,
                                             "batch_size": 8, "val_fraction": 0.0}),
                  out_dir=root / "models" / "intents", progress=False)
    kg = build_movie_kg()
    config = make_config(QAConfig, {"base_model": bert, "finetune": "full", "fusion": "none", "answer_scorer": False,
                                    "epochs": 2, "batch_size": 16, "eval_every": 0})  # flat, as [qa] is written
    model, _ = fit_qa(kg, qa_examples(kg), scorer=None, progress=False, config=config)
    model.save(root / "models" / "qa")
    return root
