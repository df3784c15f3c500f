#!/usr/bin/env bash
# Compiles hornbeam_hooks and its tests with erlc and runs every EUnit test: the pure helpers, then the hooks guide's
# snippets against the fake Go node and against the real one (HORNBEAM_BIN, else built from ./cmd/hornbeam).
set -euo pipefail
cd "$(dirname "$0")"
out=_build/erlc/test
mkdir -p "$out"
erlc -Wall -Werror +debug_info -DTEST -pa "$out" -o "$out" src/*.erl test/*.erl
cp src/hornbeam_hooks.app.src "$out/hornbeam_hooks.app"
# eunit runs X_tests with the application's module X; a test module with no such X is named here.
exec erl -noshell -sname "hbtest_$$@localhost" -pa "$out" -eval \
    'case eunit:test([{application, hornbeam_hooks}, hornbeam_services_tests], [verbose]) of ok -> halt(0); _ -> halt(1) end.'
