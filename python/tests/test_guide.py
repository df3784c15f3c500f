"""Every Python snippet of the hooks guide runs as written, in local mode.

The snippets below are copied verbatim from the guide (docs "Hooks",
sections named in each test). Models and services are small stand-ins put
in the snippet's namespace; hooks the snippet calls but does not define are
registered first, the way another part of the app would.
"""

import asyncio
import contextlib
import io
import unittest
from types import SimpleNamespace
from typing import Any, Dict, Iterator, List

from hornbeam_erlang import Atom, HookError, api, execute, register_hook

FUNCTION_HANDLER = '''
from hornbeam_erlang import register_hook, execute

def embedding_handler(action, *args, **kwargs):
    if action == 'encode':
        text = args[0]
        return model.encode(text)
    elif action == 'similarity':
        a, b = args[0], args[1]
        return cosine_similarity(
            model.encode(a),
            model.encode(b)
        )
    else:
        raise ValueError(f"Unknown action: {action}")

# Register during app startup
register_hook('embeddings', embedding_handler)

# Call from anywhere
embedding = execute('embeddings', 'encode', "Hello world")
sim = execute('embeddings', 'similarity', "Hello", "Hi there")
'''

CLASS_HANDLER = '''
from hornbeam_erlang import register_hook

class EmbeddingService:
    def __init__(self):
        # Called once when hook is registered
        self.model = SentenceTransformer('all-MiniLM-L6-v2')

    def encode(self, text):
        """Action: encode"""
        return self.model.encode(text).tolist()

    def similarity(self, text_a, text_b):
        """Action: similarity"""
        emb_a = self.model.encode(text_a)
        emb_b = self.model.encode(text_b)
        return float(cosine_similarity([emb_a], [emb_b])[0][0])

    def batch_encode(self, texts):
        """Action: batch_encode"""
        return self.model.encode(texts).tolist()

# Register class (instantiated automatically)
register_hook('embeddings', EmbeddingService)
'''

INSTANCE_HANDLER = '''
from hornbeam_erlang import register_hook

class MLService:
    def __init__(self, model_name, device):
        self.model = load_model(model_name).to(device)

    def predict(self, input_data):
        return self.model(input_data)

# Custom initialization
service = MLService('bert-base', device='cuda:0')
register_hook('ml', service)
'''

CALLING_FROM_PYTHON = '''
from hornbeam_erlang import execute, execute_async, await_result, stream

# Synchronous call
result = execute('embeddings', 'encode', text)

# Call with kwargs
result = execute('service', 'process', data, option='fast')

# Async call
task_id = execute_async('ml', 'train', large_dataset)
# ... do other work ...
result = await_result(task_id, timeout_ms=60000)

# Streaming
for chunk in stream('llm', 'generate', prompt):
    print(chunk, end='', flush=True)
'''

PYTHON_STREAMING = '''
from hornbeam_erlang import register_hook

def llm_handler(action, *args, **kwargs):
    if action == 'generate':
        prompt = args[0]
        # Return generator for streaming
        return generate_stream(prompt)

def generate_stream(prompt):
    response = openai.chat.completions.create(
        model="gpt-4",
        messages=[{"role": "user", "content": prompt}],
        stream=True
    )
    for chunk in response:
        if chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content

register_hook('llm', llm_handler)
'''

ASGI_LIFESPAN = '''
from contextlib import asynccontextmanager
from fastapi import FastAPI
from hornbeam_erlang import register_hook, unregister_hook

@asynccontextmanager
async def lifespan(app):
    # Startup: register hooks
    model = load_embedding_model()

    def handler(action, *args, **kwargs):
        if action == 'encode':
            return model.encode(args[0]).tolist()

    register_hook('embeddings', handler)

    yield  # App runs here

    # Shutdown: cleanup
    unregister_hook('embeddings')

app = FastAPI(lifespan=lifespan)

@app.post("/embed")
async def embed(text: str):
    # Use the registered hook
    from hornbeam_erlang import execute
    embedding = execute('embeddings', 'encode', text)
    return {"embedding": embedding}
'''

PYTHON_SERVICE_CALLED_FROM_ERLANG = '''
# Python: Register ML service
from hornbeam_erlang import register_hook

class ImageClassifier:
    def __init__(self):
        self.model = load_model('resnet50')

    def classify(self, image_url):
        image = download_image(image_url)
        return self.model.predict(image)

register_hook('classifier', ImageClassifier)
'''

ERLANG_SERVICE_CALLED_FROM_PYTHON = '''
# Python: Call from web handler
from hornbeam_erlang import execute

def login_required(f):
    def wrapper(request, *args, **kwargs):
        token = request.headers.get('Authorization')
        try:
            user_id = execute('auth', 'verify_token', token)
            request.user_id = user_id
            return f(request, *args, **kwargs)
        except:
            return {'error': 'Unauthorized'}, 401
    return wrapper
'''

DESCRIPTIVE_APP_PATHS = '''
# Good
register_hook('embeddings.sentence_transformer', handler)
register_hook('auth.token_validator', handler)

# Avoid
register_hook('h1', handler)
'''

HANDLE_ERRORS = '''
def handler(action, *args, **kwargs):
    try:
        if action == 'encode':
            return model.encode(args[0])
    except Exception as e:
        # Return error tuple for Erlang compatibility
        return {'error': str(e)}
'''

REGISTER_DURING_LIFESPAN = '''
# Good: Register in lifespan
@asynccontextmanager
async def lifespan(app):
    register_hook('service', handler)
    yield
    unregister_hook('service')

# Avoid: Register at module level (may cause issues)
register_hook('service', handler)  # Don't do this
'''

STREAM_LARGE_RESPONSES = '''
# Good: Stream large responses
def handler(action, *args, **kwargs):
    if action == 'get_all_users':
        return stream_users()  # Generator

def stream_users():
    for batch in db.iter_users(batch_size=100):
        for user in batch:
            yield user

# Avoid: Load everything in memory
def handler(action, *args, **kwargs):
    if action == 'get_all_users':
        return list(db.get_all_users())  # Memory hog!
'''


class Vector(list):  # type: ignore[type-arg]
    """A stand-in for a numpy array: a list with tolist()."""

    def tolist(self) -> List[float]:
        return list(self)


class StandInModel:
    """A stand-in embedding model: letter counts of a text."""

    def encode(self, text: Any) -> Vector:
        if isinstance(text, list):
            return Vector(self.encode(t) for t in text)
        if not isinstance(text, str):
            raise TypeError("text must be str")
        return Vector([float(text.count(c)) for c in "aeiou"])

    def to(self, device: str) -> "StandInModel":
        return self

    def __call__(self, data: Any) -> Any:
        return {"label": "cat", "input": data}

    def predict(self, image: bytes) -> Dict[str, Any]:
        return {"label": "cat", "bytes": len(image)}


def cosine_similarity(a: Any, b: Any) -> Any:
    """A stand-in for sklearn's cosine_similarity, vector or matrix form."""
    if a and isinstance(a[0], list):
        return [[cosine_similarity(x, y) for y in b] for x in a]
    dot = sum(x * y for x, y in zip(a, b))
    norm = (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5
    return dot / norm if norm else 0.0


def fake_openai(tokens: List[str]) -> Any:
    """A stand-in for the openai client: streams one delta per token, then an empty one."""
    def create(model: str, messages: List[Dict[str, str]], stream: bool) -> Iterator[Any]:
        for token in tokens + [None]:  # type: ignore[operator]
            yield SimpleNamespace(choices=[SimpleNamespace(delta=SimpleNamespace(content=token))])
    return SimpleNamespace(chat=SimpleNamespace(completions=SimpleNamespace(create=create)))


def run(snippet: str, **names: Any) -> Dict[str, Any]:
    """Run a guide snippet in a fresh namespace holding ``names``; return the namespace."""
    namespace: Dict[str, Any] = {"__name__": "guide_snippet"}
    namespace.update(names)
    exec(compile(snippet, "<guide>", "exec"), namespace)  # noqa: S102 - fixed guide text
    return namespace


class Guide(unittest.TestCase):
    """Local mode, with an empty registry for each test."""

    def setUp(self) -> None:
        api.use_connection(None)
        self.addCleanup(self._clear)

    def _clear(self) -> None:
        for hook in api.registry.all():
            api.registry.remove(hook.app_path)


class TestPythonHandlers(Guide):
    """Section "Python Handlers"."""

    def test_function_handler(self) -> None:
        ns = run(FUNCTION_HANDLER, model=StandInModel(), cosine_similarity=cosine_similarity)
        self.assertEqual(ns["embedding"], [0.0, 1.0, 0.0, 2.0, 0.0])
        self.assertAlmostEqual(ns["sim"], cosine_similarity([0, 1, 0, 1, 0], [0, 2, 1, 0, 0]))
        with self.assertRaises(HookError) as ctx:
            execute("embeddings", "train")
        self.assertEqual(ctx.exception.detail[:2], ("ValueError", "Unknown action: train"))

    def test_class_handler(self) -> None:
        run(CLASS_HANDLER, SentenceTransformer=lambda name: StandInModel(),
            cosine_similarity=cosine_similarity)
        self.assertEqual(execute("embeddings", "encode", "aa"), [2.0, 0.0, 0.0, 0.0, 0.0])
        self.assertAlmostEqual(execute("embeddings", "similarity", "a", "a"), 1.0)
        self.assertEqual(execute("embeddings", "batch_encode", ["e"]), [[0, 1, 0, 0, 0]])

    def test_instance_handler(self) -> None:
        run(INSTANCE_HANDLER, load_model=lambda name: StandInModel())
        self.assertEqual(execute("ml", "predict", [1, 2]), {"label": "cat", "input": [1, 2]})


class TestCallingHooks(Guide):
    """Section "Calling Hooks", "From Python"."""

    def test_calling_from_python(self) -> None:
        register_hook("embeddings", lambda action, text: StandInModel().encode(text))
        register_hook("service", lambda action, data, option: {"data": data, "option": option})
        register_hook("ml", lambda action, data: {"trained_on": len(data)})
        register_hook("llm", lambda action, prompt: iter(prompt.split()))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ns = run(CALLING_FROM_PYTHON, text="hello", data=[1], large_dataset=[1, 2, 3],
                     prompt="a b c")
        self.assertEqual(ns["result"], {"trained_on": 3})
        self.assertEqual(out.getvalue(), "abc")


class TestStreamingHandlers(Guide):
    """Section "Streaming Handlers", "Python Streaming"."""

    def test_python_streaming(self) -> None:
        run(PYTHON_STREAMING, openai=fake_openai(["Hel", "lo"]))
        self.assertEqual(list(api.stream("llm", "generate", "hi")), ["Hel", "lo"])


class TestLifespan(Guide):
    """Section "ASGI Lifespan Integration" (needs FastAPI, as the snippet does)."""

    def test_asgi_lifespan(self) -> None:
        try:
            import fastapi  # noqa: F401
        except ImportError:
            self.skipTest("fastapi is not installed (Debian: python3-fastapi)")
        ns = run(ASGI_LIFESPAN, load_embedding_model=StandInModel)

        async def serve() -> Any:
            async with ns["lifespan"](ns["app"]):
                self.assertIn("embeddings", [h.app_path for h in api.registry.all()])
                response = await ns["embed"]("aei")
            self.assertEqual(api.registry.all(), [])
            return response
        self.assertEqual(asyncio.run(serve()), {"embedding": [1.0, 1.0, 1.0, 0.0, 0.0]})


class TestCrossLanguage(Guide):
    """Section "Cross-Language Patterns"."""

    def test_python_service_called_from_erlang(self) -> None:
        run(PYTHON_SERVICE_CALLED_FROM_ERLANG, load_model=lambda name: StandInModel(),
            download_image=lambda url: b"\x89PNG" + url.encode())
        self.assertEqual(execute("classifier", "classify", "x"), {"label": "cat", "bytes": 5})

    def test_erlang_service_called_from_python(self) -> None:
        def auth(action: str, token: Any) -> Any:
            if token == "good":
                return (Atom("ok"), 42)
            return (Atom("error"), Atom("invalid_token"))
        register_hook("auth", auth)
        ns = run(ERLANG_SERVICE_CALLED_FROM_PYTHON)
        view = ns["login_required"](lambda request: {"user": request.user_id})

        def request(token: str) -> Any:
            return SimpleNamespace(headers={"Authorization": token})
        self.assertEqual(view(request("good")), {"user": 42})
        self.assertEqual(view(request("bad")), ({"error": "Unauthorized"}, 401))


class TestBestPractices(Guide):
    """Section "Best Practices"."""

    def test_descriptive_app_paths(self) -> None:
        run(DESCRIPTIVE_APP_PATHS, register_hook=register_hook, handler=lambda action: action)
        self.assertEqual(execute("auth.token_validator", "ping"), "ping")
        self.assertEqual(len(api.registry.all()), 3)

    def test_handle_errors(self) -> None:
        ns = run(HANDLE_ERRORS, model=StandInModel())
        register_hook("embed", ns["handler"])
        self.assertEqual(execute("embed", "encode", 5), {"error": "text must be str"})
        self.assertEqual(execute("embed", "encode", "o"), [0, 0, 0, 1, 0])

    def test_register_during_lifespan(self) -> None:
        ns = run(REGISTER_DURING_LIFESPAN, asynccontextmanager=contextlib.asynccontextmanager,
                 register_hook=register_hook, unregister_hook=api.unregister_hook,
                 handler=lambda action: "served")
        self.assertEqual(execute("service", "x"), "served")

        async def lifespan() -> None:
            async with ns["lifespan"](None):
                self.assertEqual(execute("service", "y"), "served")
        asyncio.run(lifespan())
        with self.assertRaises(HookError):
            execute("service", "z")

    def test_stream_large_responses(self) -> None:
        db = SimpleNamespace(
            iter_users=lambda batch_size: iter([["ann", "bob"], ["cy"]]),
            get_all_users=lambda: iter(["ann", "bob", "cy"]))
        good = run(STREAM_LARGE_RESPONSES.split("# Avoid")[0], db=db)
        both = run(STREAM_LARGE_RESPONSES, db=db)
        register_hook("users.lazy", good["handler"])
        register_hook("users.eager", both["handler"])
        self.assertEqual(list(api.stream("users.lazy", "get_all_users")), ["ann", "bob", "cy"])
        self.assertEqual(list(api.stream("users.eager", "get_all_users")),
                         [["ann", "bob", "cy"]])


if __name__ == "__main__":
    unittest.main()
