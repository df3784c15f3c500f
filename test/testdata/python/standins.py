"""Small stand-ins for the models and services the hooks guide's snippets use.

Each is just enough to run the snippets as written: deterministic, instant,
standard library only.
"""

import math
import time
from types import SimpleNamespace


class Array(list):
    """A list with numpy's ``tolist()``, as a model's ``encode`` returns."""

    def tolist(self):
        """Return the plain list."""
        return list(self)


def _embed(text):
    return [float(len(text)), float(sum(text.count(v) for v in "aeiou")), float(text.count(" "))]


class EmbeddingModel:
    """A sentence embedder: [length, vowels, spaces] of each text."""

    def encode(self, texts):
        """Embed one text, or each text of a list."""
        if isinstance(texts, list):
            return Array(Array(_embed(t)) for t in texts)
        return Array(_embed(texts))


def SentenceTransformer(name):
    """Return the embedder, whatever its name."""
    return EmbeddingModel()


def load_embedding_model():
    """Return the embedder the ASGI lifespan example loads."""
    return EmbeddingModel()


def cosine_similarity(a, b):
    """Cosine similarity of two vectors, or sklearn's matrix for two lists of vectors."""
    if a and isinstance(a[0], list):
        return [[cosine_similarity(x, y) for y in b] for x in a]
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


model = EmbeddingModel()


class Model:
    """A named model: ``to(device)``, call it on numbers, ``predict`` an image."""

    def __init__(self, name):
        self.name = name
        self.device = "cpu"

    def to(self, device):
        """Move the model to ``device``."""
        self.device = device
        return self

    def __call__(self, input_data):
        return {"model": self.name, "device": self.device, "score": sum(input_data)}

    def predict(self, image):
        """Label an image by its file name."""
        return {"model": self.name, "label": image.rsplit("/", 1)[-1].split(".")[0]}

    def fit(self, data):
        """Train on ``data`` for a moment."""
        time.sleep(0.2)
        return {"model": self.name, "trained_on": len(data)}


def load_model(name):
    """Return the model called ``name``."""
    return Model(name)


def download_image(url):
    """Return the image at ``url``: here, its path."""
    return url.split("://", 1)[-1]


def _completions_create(model, messages, stream):
    words = ("Echo: " + messages[-1]["content"]).split(" ")
    contents = [None] + [w + " " for w in words[:-1]] + [words[-1]]
    return [SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=c))]) for c in contents]


openai = SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=_completions_create)))
"""The OpenAI client: a chat completion streams the prompt back, word by word, after a role-only chunk."""
