"""Lifecycle hooks of a Python caller, through the real node's demo hooks (test/caller_hooks_test.go).

Run with HORNBEAM_SOCKET set; prints one line per check and exits non-zero at the first that fails.
"""

import asyncio

from hornbeam_erlang import Atom, HookError, cont, error, execute, halt, stream, use_hooks, with_hooks

trail = []


class Recorder:
    """Appends (name, callback, value) to the trail, then runs do[callback] or passes the value on."""

    def __init__(self, name, **do):
        self.name = name
        self.do = do

    def _run(self, callback, value, *args):
        trail.append((self.name, callback, value))
        if callback in self.do:
            return self.do[callback](*args)
        return cont(value) if callback in ('on_call_start', 'on_call_end', 'on_stream_start') else None

    def on_call_start(self, call, request, context):
        return self._run('on_call_start', request, call, request, context)

    def on_call_end(self, call, result, context):
        return self._run('on_call_end', result, call, result, context)

    def on_call_error(self, call, reason, context):
        return self._run('on_call_error', reason, call, reason, context)

    def on_stream_start(self, call, request, context):
        return self._run('on_stream_start', request, call, request, context)

    def on_stream_chunk(self, call, chunk, context):
        return self._run('on_stream_chunk', chunk, call, chunk, context)

    def on_stream_end(self, call, context):
        return self._run('on_stream_end', None, call, context)


def check(name, got, want):
    assert got == want, '%s: got %r; want %r' % (name, got, want)
    print('ok', name)


def taken():
    names = [(n, c) for n, c, _ in trail]
    del trail[:]
    return names


def raised(fn):
    try:
        fn()
    except HookError as exc:
        return exc.reason
    return 'no error'


use_hooks([Recorder('client')])
tens = Recorder('call', on_call_start=lambda call, r, ctx: cont((r[0], [a * 10 for a in r[1]], r[2])))
check('cont', with_hooks(tens).execute('demo.calculator', 'add', 1, 2), 30)
check('order', taken(), [('client', 'on_call_start'), ('call', 'on_call_start'),
                         ('client', 'on_call_end'), ('call', 'on_call_end')])
check('halt', with_hooks(Recorder('call', on_call_start=lambda *a: halt('cached'))).execute(
    'demo.calculator', 'add', 1, 2), 'cached')
check('error', raised(lambda: with_hooks(Recorder('call', on_call_start=lambda *a: error('denied'))).execute(
    'demo.calculator', 'add', 1, 2)), 'denied')
check('end', with_hooks(Recorder('call', on_call_end=lambda call, v, ctx: cont(v + 1))).execute(
    'demo.calculator', 'multiply', 3, 4), 13)
del trail[:]
failure = raised(lambda: execute('demo.calculator', 'divide', 1, 0))
check('node error', failure, (Atom('badarith'), 'division by zero'))
check('on_call_error', trail[-1], ('client', 'on_call_error', failure))
del trail[:]
check('stream', list(stream('demo.counter', 'count', 300)), list(range(300)))
check('chunks once in order', [v for _, c, v in trail if c == 'on_stream_chunk'], list(range(300)))
check('end once', [c for _, c, _ in trail].count('on_stream_end'), 1)
del trail[:]
chunks = stream('demo.counter', 'count', 1000000)
check('early', [next(chunks), next(chunks)], [0, 1])
chunks.close()
check('early close', taken(), [('client', 'on_stream_start'), ('client', 'on_stream_chunk'),
                               ('client', 'on_stream_chunk'), ('client', 'on_stream_end')])


async def first_three():
    chunks = with_hooks(Recorder('call')).stream_async('demo.counter', 'count', 1000000)
    got = [await chunks.__anext__() for _ in range(3)]
    await chunks.aclose()
    return got
check('async early close', asyncio.run(first_three()), [0, 1, 2])
check('async ends once', [c for _, c, _ in trail].count('on_stream_end'), 2)
del trail[:]
crash = Recorder('call', on_call_start=lambda *a: 1 / 0)
reason = raised(lambda: with_hooks(crash).execute('demo.calculator', 'add', 1, 2))
check('crashing hook', (reason[0], reason[1], reason[2][0], reason[2][1][1]),
      ('hook', '__main__.Recorder', 'on_call_start', 'ZeroDivisionError'))
task = with_hooks(Recorder('call', on_call_end=lambda call, v, ctx: cont(('awaited', v)))).execute_async(
    'demo.calculator', 'add', 2, 2)
check('async task', with_hooks().await_result(task, 5000), ('awaited', 4))
print('all checks passed')
