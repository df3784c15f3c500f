# Runs the Elixir example of docs/lifecycle.md against a Go node with the demo hooks:
#
#     cd <repo> && elixir --sname N --cookie C -pa <hornbeam_hooks ebin> erlang/test/elixir/lifecycle_example.exs GoNode
#
# The example's ```elixir blocks are compiled as written; the tests below use them. hornbeam_lifecycle_tests runs
# this script with the Go node of its fixture.
[go_node] = System.argv()

for [code] <- Regex.scan(~r/```elixir\n(.*?)```/s, File.read!("docs/lifecycle.md"), capture: :all_but_first) do
  Code.compile_string(code, "docs/lifecycle.md")
end

:ok = Application.load(:hornbeam_hooks)
Application.put_env(:hornbeam_hooks, :nodes, [String.to_atom(go_node)])
Application.put_env(:hornbeam_hooks, :timeout, 5000)
ExUnit.start(autorun: false)

defmodule LifecycleExampleTest do
  use ExUnit.Case
  import ExUnit.CaptureLog

  setup do
    Application.put_env(:hornbeam_hooks, :hooks, [MyApp.LoggingHooks])
    start_supervised!({MyApp.Calculator, 2})
    on_exit(fn -> Application.put_env(:hornbeam_hooks, :hooks, []) end)
  end

  test "client-level hooks log every call, also a failed one" do
    log = capture_log(fn -> assert MyApp.Calculator.multiply(3, 4) == {:ok, 12} end)
    assert log =~ "hornbeam demo.calculator multiply started"
    assert log =~ "hornbeam demo.calculator multiply completed"
    log = capture_log(fn ->
      assert {:error, {:badarith, "division by zero"}} =
               :hornbeam_hooks.execute("demo.calculator", "divide", [1, 0], %{})
    end)
    assert log =~ "hornbeam demo.calculator divide failed: {:badarith, \"division by zero\"}"
  end

  test "a per-call hook halts: multiplying by zero never reaches the Go node" do
    log = capture_log(fn -> assert MyApp.Calculator.multiply(7, 0) == {:ok, 0} end)
    assert log =~ "multiply started"
    refute log =~ "multiply completed"
  end

  test "a per-call hook refuses a caller over its quota" do
    assert MyApp.Calculator.multiply(2, 3) == {:ok, 6}
    assert MyApp.Calculator.multiply(2, 4) == {:ok, 8}
    assert MyApp.Calculator.multiply(2, 5) == {:error, :over_quota}
  end

  test "a stream closed early reports each chunk and its end once" do
    assert MyApp.Calculator.first(3, self()) == [0, 1, 2]
    assert_received {:chunk, 0}
    assert_received {:chunk, 1}
    assert_received {:chunk, 2}
    assert_received :stream_end
    refute_received {:chunk, _}
    refute_received :stream_end
  end
end

%{failures: failures} = ExUnit.run()
System.halt(if failures == 0, do: 0, else: 1)
