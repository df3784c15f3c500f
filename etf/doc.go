// Package etf encodes and decodes the Erlang External Term Format.
package etf
