%% @doc A lifecycle hook for the tests that exports no callback: every value passes through it.
-module(lc_none).
-behaviour(hornbeam_lifecycle).
