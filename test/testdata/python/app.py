"""The hooks guide's ASGI lifespan example, as written, with a stand-in embedding model (test/python_test.go).

Run: HORNBEAM_SOCKET=/path/hb.sock PYTHONPATH=python:test/testdata/python python3 -m uvicorn app:app
"""

from standins import load_embedding_model

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

# FastAPI before 0.93 (Debian bookworm has 0.92) takes lifespan= without using it; run it as the router's lifespan.
if app.router.lifespan_context is not lifespan:
    app.router.lifespan_context = lifespan
