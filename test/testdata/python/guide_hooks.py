"""The hooks guide's Python handlers, for the end-to-end tests (test/python_test.go).

The snippets are the guide's, as written, with its models replaced by the
stand-ins in standins.py. Where two snippets register the same app path, the
later one gets its own: EmbeddingService serves 'embeddings.class'. MLService
gains a ``train`` action for the guide's ``execute_async('ml', 'train', ...)``,
and 'web' serves a view guarded by the guide's ``login_required``.
"""

from standins import (
    SentenceTransformer,
    cosine_similarity,
    download_image,
    load_model,
    model,
    openai,
)

# Python Handlers: Function Handler.
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


# Python Handlers: Class Handler.
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
register_hook('embeddings.class', EmbeddingService)


# Python Handlers: Instance Handler, plus the train action the async example calls.
class MLService:
    def __init__(self, model_name, device):
        self.model = load_model(model_name).to(device)

    def predict(self, input_data):
        return self.model(input_data)

    def train(self, data):
        return self.model.fit(data)

# Custom initialization
service = MLService('bert-base', device='cuda:0')
register_hook('ml', service)


# Streaming Handlers: Python Streaming.
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


# Cross-Language Patterns: Python Service Called from Erlang.
class ImageClassifier:
    def __init__(self):
        self.model = load_model('resnet50')

    def classify(self, image_url):
        image = download_image(image_url)
        return self.model.predict(image)

register_hook('classifier', ImageClassifier)


# Cross-Language Patterns: Erlang Service Called from Python.
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


class Request:
    """A web request: its headers hold the token, when there is one."""

    def __init__(self, token):
        self.headers = {} if token is None else {'Authorization': token}


@login_required
def profile(request):
    """The signed-in user's profile."""
    return {'user_id': request.user_id}


def web_handler(action, *args):
    """'login' [UserId] opens a session with the auth hook; 'profile' [Token] or [] shows the profile."""
    if action == 'login':
        return execute('auth', 'create_session', args[0])
    if action == 'profile':
        return profile(Request(args[0] if args else None))
    raise ValueError(f"Unknown action: {action}")

register_hook('web', web_handler)
