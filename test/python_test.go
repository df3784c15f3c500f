package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pythonBin returns the interpreter for Python processes: $HORNBEAM_PYTHON,
// else /usr/bin/python3 when it exists, else python3 on PATH. It sets
// HORNBEAM_PYTHON to it for the hornbeam binaries the test starts.
func pythonBin(t *testing.T) string {
	t.Helper()
	py := os.Getenv("HORNBEAM_PYTHON")
	if py == "" {
		py = "python3"
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			py = "/usr/bin/python3"
		}
	}
	t.Setenv("HORNBEAM_PYTHON", py)
	return py
}

// testdataPython returns the absolute path of testdata/python.
func testdataPython(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "python"))
	require.NoError(t, err)
	return dir
}

// pythonFlags returns the hornbeam flags that run module from testdata/python on workers workers.
func pythonFlags(t *testing.T, module string, workers int) []string {
	t.Helper()
	pythonBin(t)
	return []string{"--python", module, "--python-workers", strconv.Itoa(workers), "--python-path", testdataPython(t)}
}

// TestPythonGuideFromErlang calls the hooks guide's Python handlers
// (testdata/python/guide_hooks.py) from an erl node through the Go node, with
// the guide's Erlang calls as written: execute, execute_async plus
// await_result, and stream with the guide's stream_loop. A Python exception
// reaches Erlang as {error, {python, Class, Message, Traceback}}.
func TestPythonGuideFromErlang(t *testing.T) {
	ebin := compileErlang(t, "guide_calls.erl")
	h := startHornbeam(t, append([]string{"--no-demo"}, pythonFlags(t, "guide_hooks", 1)...)...)
	out := erlEval(t, h.name, clientSetup+`
	Check("function encode", guide_calls:sync(<<"Hello world">>)),
	{ok, Sim} = hornbeam_hooks:execute(<<"embeddings">>, <<"similarity">>, [<<"Hello">>, <<"Hi there">>], #{}),
	Check("function similarity", is_float(Sim) andalso Sim > 0.9 andalso Sim < 1.0),
	Check("class batch_encode", hornbeam_hooks:execute(<<"embeddings.class">>, <<"batch_encode">>,
	    [[<<"a b">>, <<"ccc">>]], #{})),
	Check("instance predict", hornbeam_hooks:execute(<<"ml">>, <<"predict">>, [[1, 2, 3]], #{})),
	Check("classify", guide_calls:handle_request(#{image_url => <<"https://images.example/cat.png">>})),
	Check("find", hornbeam_hooks:find(<<"classifier">>)),
	Check("async train", guide_calls:async(lists:seq(1, 1000))),
	io:format("check stream: "),
	ok = guide_calls:streaming(<<"tell me a story">>),
	io:format("~n"),
	{error, {python, Class, Msg, Traceback}} = hornbeam_hooks:execute(<<"embeddings">>, <<"translate">>, [<<"x">>], #{}),
	Check("python exception", {Class, Msg, binary:match(Traceback, <<"in embedding_handler">>) =/= nomatch}),
	Check("unknown class action", hornbeam_hooks:execute(<<"embeddings.class">>, <<"translate">>, [<<"x">>], #{}))
	`, ebin)
	requireChecks(t, out, [][2]string{
		{"function encode", `[11.0,3.0,1.0]`},
		{"function similarity", `true`},
		{"class batch_encode", `{ok,[[3.0,1.0,1.0],[3.0,0.0,0.0]]}`},
		{"instance predict", `{ok,#{<<"device">> => <<"cuda:0">>,<<"model">> => <<"bert-base">>,<<"score">> => 6}}`},
		{"classify", `#{<<"label">> => <<"cat">>,<<"model">> => <<"resnet50">>}`},
		{"find", `{ok,#{app_path => <<"classifier">>,kind => python}}`},
		{"async train", `#{<<"model">> => <<"bert-base">>,<<"trained_on">> => 1000}`},
		{"stream", `Echo: tell me a story`},
		{"python exception", `{<<"ValueError">>,<<"Unknown action: translate">>,true}`},
		{"unknown class action", `{error,{unknown_action,<<"translate">>}}`},
	})
}

// TestPythonWorkerKilledMidCall kills the only Python worker with kill -9
// while an Erlang caller waits on it: the caller gets {error, {worker_exit,
// Detail}} within a second, and once the worker is restarted (a new OS pid)
// calls succeed again.
func TestPythonWorkerKilledMidCall(t *testing.T) {
	ebin := compileErlang(t)
	h := startHornbeam(t, append([]string{"--no-demo"}, pythonFlags(t, "worker_hooks", 1)...)...)
	marker := filepath.Join(t.TempDir(), "hanging")
	out := erlEval(t, h.name, clientSetup+fmt.Sprintf(`
	Marker = %q,
	{ok, OldPid} = hornbeam_hooks:execute(<<"proc">>, <<"pid">>, [], #{}),
	Self = self(),
	spawn(fun() -> Self ! {hang, hornbeam_hooks:execute(<<"proc">>, <<"hang">>, [list_to_binary(Marker)], #{})} end),
	WaitFile = fun Wait(0) -> false; Wait(N) -> filelib:is_file(Marker) orelse (timer:sleep(20) =:= ok andalso Wait(N - 1)) end,
	Check("call in flight", WaitFile(250)),
	"" = os:cmd("kill -9 " ++ integer_to_list(OldPid)),
	T0 = erlang:monotonic_time(millisecond),
	receive
	    {hang, Reply} ->
	        Check("killed call", Reply),
	        Check("within 1 s", erlang:monotonic_time(millisecond) - T0 < 1000)
	after 1000 ->
	    Check("killed call", no_reply_within_1s)
	end,
	Retry = fun Next(0) -> gave_up;
	            Next(N) ->
	                case hornbeam_hooks:execute(<<"proc">>, <<"pid">>, [], #{}) of
	                    {ok, Pid} -> Pid;
	                    _ -> timer:sleep(50), Next(N - 1)
	                end
	        end,
	NewPid = Retry(100),
	Check("restarted", is_integer(NewPid) andalso NewPid =/= OldPid)
	`, marker), ebin)
	requireChecks(t, out, [][2]string{
		{"call in flight", `true`},
		{"killed call", `{error,{worker_exit,<<"signal: killed">>}}`},
		{"within 1 s", `true`},
		{"restarted", `true`},
	})
}

// TestFastAPILifespan runs the guide's ASGI lifespan example for real: uvicorn
// serves testdata/python/app.py, attached to hornbeam's socket. Its hook
// answers HTTP (a call that leaves the process and comes back) and an erl
// node; after SIGTERM the lifespan's shutdown unregisters it.
func TestFastAPILifespan(t *testing.T) {
	py := pythonBin(t)
	if out, err := exec.Command(py, "-c", "import fastapi, uvicorn").CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: %s cannot import fastapi and uvicorn, so the guide's FastAPI example is NOT tested: %v\n%s",
			py, err, out)
	}
	ebin := compileErlang(t)
	sock := filepath.Join(t.TempDir(), "hb.sock")
	h := startHornbeam(t, "--no-demo", "--python-socket", sock)

	repoPython, err := filepath.Abs("../python")
	require.NoError(t, err)
	port := freePort(t)
	uvicorn := exec.Command(py, "-m", "uvicorn", "app:app", "--port", strconv.Itoa(port))
	uvicorn.Env = append(os.Environ(), "HORNBEAM_SOCKET="+sock,
		"PYTHONPATH="+repoPython+string(os.PathListSeparator)+testdataPython(t))
	log := &syncBuffer{}
	uvicorn.Stdout, uvicorn.Stderr = log, log
	require.NoError(t, uvicorn.Start())
	exited := make(chan error, 1)
	go func() { exited <- uvicorn.Wait() }()
	t.Cleanup(func() {
		_ = uvicorn.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("uvicorn log:\n%s", log.String())
		}
	})

	url := fmt.Sprintf("http://127.0.0.1:%d/embed?text=hello", port)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	var body []byte
	require.Eventually(t, func() bool {
		resp, err := client.Post(url, "", nil)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK
	}, 20*time.Second, 100*time.Millisecond, "POST /embed never answered 200 (uvicorn log follows)")
	require.JSONEq(t, `{"embedding": [5.0, 2.0, 0.0]}`, string(body))

	out := erlEval(t, h.name, clientSetup+`
	Check("encode", hornbeam_hooks:execute(<<"embeddings">>, <<"encode">>, [<<"hi">>], #{})),
	Check("find", hornbeam_hooks:find(<<"embeddings">>))
	`, ebin)
	requireChecks(t, out, [][2]string{
		{"encode", `{ok,[2.0,1.0,0.0]}`},
		{"find", `{ok,#{app_path => <<"embeddings">>,kind => python}}`},
	})

	require.NoError(t, uvicorn.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-exited:
		exited <- err
		require.NoError(t, err, "uvicorn log:\n%s", log.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("uvicorn still running 10 s after SIGTERM; log:\n%s", log.String())
	}
	require.Contains(t, log.String(), "Application shutdown complete.")
	out = erlEval(t, h.name, clientSetup+`Check("find", hornbeam_hooks:find(<<"embeddings">>))`, ebin)
	requireChecks(t, out, [][2]string{{"find", `{error,{not_found,<<"embeddings">>}}`}})
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
