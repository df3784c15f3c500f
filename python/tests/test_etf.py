"""Tests of the ETF codec against bytes written by a real OTP 25 ``erl``.

Every literal below came from ``term_to_binary(T, [{minor_version, 2}])`` (so
atoms use the UTF-8 tags our encoder writes) unless its comment says
otherwise.
"""

import unittest
import zlib

from hornbeam_erlang.etf import (
    Atom,
    BitString,
    Export,
    FrozenList,
    FrozenMap,
    Fun,
    ImproperList,
    IncompleteData,
    Pid,
    Port,
    Ref,
    decode,
    encode,
    encode_into,
)

LARGE_BIG = b"\x83o\x00\x00\x01\x07\x01" + b"\x00" * 262 + b"\x10"
LARGE_TUPLE = b"\x83i\x00\x00\x01\x00" + b"a\x00" * 256
PID = b"\x83Xw\rnonode@nohost\x00\x00\x00P\x00\x00\x00\x00\x00\x00\x00\x00"
PORT = b"\x83Yw\rnonode@nohost\x00\x00\x00\x00\x00\x00\x00\x00"
# term_to_binary(make_ref()) with default options (NEWER_REFERENCE_EXT, latin-1 node atom).
REF = (b"\x83Z\x00\x03d\x00\rnonode@nohost\x00\x00\x00\x00\x00\x01\tB\xab\xb0\x00\x01"
       b"i\xa4[\xba")
# term_to_binary(fun(X) -> X + 1 end) in module fx2.
FUN = (b"\x83p\x00\x00\x00G\x01\xe1p\xb6L\x84\x90\xa4\xe1\x88o(\xf0r\xe2\x943\x00\x00\x00"
       b"\x00\x00\x00\x00\x00d\x00\x03fx2a\x00b\x07\x0b\x85\xb2Xd\x00\rnonode@nohost\x00\x00"
       b"\x00\t\x00\x00\x00\x00\x00\x00\x00\x00")

# (name, erl source, bytes, Python value): decode(bytes) == value and encode(value) == bytes.
SYMMETRIC = [
    ("small_int", "5", b"\x83a\x05", 5),
    ("neg_int", "-1", b"\x83b\xff\xff\xff\xff", -1),
    ("neg_small", "-5", b"\x83b\xff\xff\xff\xfb", -5),
    ("byte256", "256", b"\x83b\x00\x00\x01\x00", 256),
    ("int", "1000000", b"\x83b\x00\x0fB@", 1000000),
    ("int_max", "2147483647", b"\x83b\x7f\xff\xff\xff", 2147483647),
    ("int_min", "-2147483648", b"\x83b\x80\x00\x00\x00", -2147483648),
    ("int_over", "2147483648", b"\x83n\x04\x00\x00\x00\x00\x80", 2147483648),
    ("int_under", "-2147483649", b"\x83n\x04\x01\x01\x00\x00\x80", -2147483649),
    ("small_big", "1 bsl 64", b"\x83n\t\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 1 << 64),
    ("neg_big", "-(1 bsl 64)", b"\x83n\t\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01", -(1 << 64)),
    ("large_big", "-(1 bsl 2100)", LARGE_BIG, -(1 << 2100)),
    ("float", "2.5", b"\x83F@\x04\x00\x00\x00\x00\x00\x00", 2.5),
    ("atom", "ok", b"\x83w\x02ok", Atom("ok")),
    ("utf8_atom", "'h\u00e9llo'", b"\x83w\x06h\xc3\xa9llo", Atom("h\u00e9llo")),
    ("true", "true", b"\x83w\x04true", True),
    ("false", "false", b"\x83w\x05false", False),
    ("undefined", "undefined", b"\x83w\tundefined", None),
    ("binary", '<<"hi">>', b"\x83m\x00\x00\x00\x02hi", "hi"),
    ("utf8_binary", '<<"h\u00e9llo"/utf8>>', b"\x83m\x00\x00\x00\x06h\xc3\xa9llo", "h\u00e9llo"),
    ("latin_binary", "<<255,0>>", b"\x83m\x00\x00\x00\x02\xff\x00", b"\xff\x00"),
    ("nil", "[]", b"\x83j", []),
    ("string", '"abc"', b"\x83k\x00\x03abc", [97, 98, 99]),
    ("list", "[1, 2.5, x]", b"\x83l\x00\x00\x00\x03a\x01F@\x04\x00\x00\x00\x00\x00\x00w\x01xj",
     [1, 2.5, Atom("x")]),
    ("list_of_big", "[256, 1]", b"\x83l\x00\x00\x00\x02b\x00\x00\x01\x00a\x01j", [256, 1]),
    ("improper", "[1|2]", b"\x83l\x00\x00\x00\x01a\x01a\x02", ImproperList([1], 2)),
    ("tuple", '{a, <<"b">>, 1}', b"\x83h\x03w\x01am\x00\x00\x00\x01ba\x01", (Atom("a"), "b", 1)),
    ("empty_tuple", "{}", b"\x83h\x00", ()),
    ("large_tuple", "list_to_tuple(lists:duplicate(256, 0))", LARGE_TUPLE, (0,) * 256),
    ("map", '#{<<"a">> => [1,2.5,x]}',
     b"\x83t\x00\x00\x00\x01m\x00\x00\x00\x01al\x00\x00\x00\x03a\x01F@\x04\x00\x00\x00\x00"
     b"\x00\x00w\x01xj",
     {"a": [1, 2.5, Atom("x")]}),
    ("empty_map", "#{}", b"\x83t\x00\x00\x00\x00", {}),
    ("bitstring", "<<1:3>>", b"\x83M\x00\x00\x00\x01\x03 ", BitString(b" ", 3)),
    ("export", "fun lists:map/2", b"\x83qw\x05listsw\x03mapa\x02",
     Export(b"qw\x05listsw\x03mapa\x02")),
    ("pid", 'list_to_pid("<0.80.0>")', PID, Pid(PID[1:])),
    ("port", "hd(erlang:ports())", PORT, Port(PORT[1:])),
    ("ref", "make_ref()", REF, Ref(REF[1:])),
    ("fun", "fun(X) -> X + 1 end", FUN, Fun(FUN[1:])),
    ("reply_frame", '{reply, 1, {ok, #{<<"k">> => [<<"v">>]}}}',
     b"\x83h\x03w\x05replya\x01h\x02w\x02okt\x00\x00\x00\x01m\x00\x00\x00\x01kl\x00\x00\x00"
     b"\x01m\x00\x00\x00\x01vj",
     (Atom("reply"), 1, (Atom("ok"), {"k": ["v"]}))),
]

# Bytes OTP writes that decode to a value which encodes differently.
DECODE_ONLY = [
    ("latin1_atom", "term_to_binary('h\u00e9llo') (ATOM_EXT)", b"\x83d\x00\x05h\xe9llo",
     Atom("h\u00e9llo")),
    ("nil_atom", "nil", b"\x83w\x03nil", None),
    ("none_atom", "none", b"\x83w\x04none", None),
    ("old_float", "term_to_binary(2.5, [{minor_version,0}])",
     b"\x83c2.50000000000000000000e+00\x00\x00\x00\x00\x00", 2.5),
    ("compressed", 'term_to_binary(lists:duplicate(100, <<"abc">>), [compressed])',
     b"\x83P\x00\x00\x03&x\x9c\xcba``H\xc9\x05\x12\xcc\x89I\xc9\xa3\xf4(=Jc\xd2Y\x00\xcfv"
     b"\x9f\xd3",
     ["abc"] * 100),
]


class TestDecode(unittest.TestCase):
    """Decoding bytes written by erl, with and without trailing bytes."""

    def test_symmetric(self) -> None:
        for name, source, data, want in SYMMETRIC + DECODE_ONLY:
            with self.subTest(name=name, erl=source):
                got, rest = decode(data)
                self.assertEqual(got, want)
                self.assertEqual(type(got), type(want))
                self.assertEqual(rest, b"")
                got, rest = decode(data + b"tail")
                self.assertEqual(got, want)
                self.assertEqual(rest, b"tail")

    def test_binary_types(self) -> None:
        self.assertIs(type(decode(b"\x83m\x00\x00\x00\x02hi")[0]), str)
        self.assertIs(type(decode(b"\x83m\x00\x00\x00\x02\xff\x00")[0]), bytes)

    def test_atoms_are_interned(self) -> None:
        first, _ = decode(b"\x83w\x02ok")
        second, _ = decode(b"\x83d\x00\x02ok")
        self.assertIs(first, Atom("ok"))
        self.assertIs(second, Atom("ok"))

    def test_opaque_node(self) -> None:
        for data in (PID, PORT, REF):
            with self.subTest(data=data):
                self.assertEqual(decode(data)[0].node, Atom("nonode@nohost"))

    def test_unhashable_map_keys(self) -> None:
        # term_to_binary(#{[1] => a, #{} => b}, [{minor_version, 2}])
        data = b"\x83t\x00\x00\x00\x02t\x00\x00\x00\x00w\x01bk\x00\x01\x01w\x01a"
        got, _ = decode(data)
        self.assertEqual(got, {FrozenList([1]): Atom("a"), FrozenMap(): Atom("b")})
        self.assertEqual(decode(encode(got))[0], got)

    def test_malformed(self) -> None:
        cases = [
            ("version", b"\x82a\x01"),
            ("unknown_tag", b"\x83\x01"),
            ("atom_cache_ref", b"\x83R\x00"),
            ("bad_utf8_atom", b"\x83w\x01\xff"),
            ("bad_float", b"\x83c" + b"x" * 31),
            ("bad_bits", b"\x83M\x00\x00\x00\x01\x09 "),
            ("zlib", b"\x83P\x00\x00\x00\x03garbage"),
            ("compressed_size", b"\x83P\x00\x00\x00\x01" + zlib.compress(b"a\x01a\x02")),
            ("pid_node", b"\x83Xa\x01" + b"\x00" * 12),
        ]
        for name, data in cases:
            with self.subTest(name=name):
                with self.assertRaises(ValueError) as ctx:
                    decode(data)
                self.assertNotIsInstance(ctx.exception, IncompleteData)

    def test_length_is_bounded(self) -> None:
        # A list that claims 2**32-1 items in a few bytes must not allocate them.
        with self.assertRaises(IncompleteData):
            decode(b"\x83l\xff\xff\xff\xffa\x01")


class TestIncomplete(unittest.TestCase):
    """Every proper prefix of a term raises IncompleteData keeping the bytes."""

    def test_every_prefix(self) -> None:
        for name, _, data, _ in SYMMETRIC + DECODE_ONLY:
            for end in range(len(data)):
                with self.subTest(name=name, end=end):
                    with self.assertRaises(IncompleteData) as ctx:
                        decode(data[:end])
                    self.assertEqual(ctx.exception.data, data[:end])


class TestEncode(unittest.TestCase):
    """Encoding Python values to the exact bytes erl writes."""

    def test_symmetric(self) -> None:
        for name, source, want, value in SYMMETRIC:
            with self.subTest(name=name, erl=source):
                self.assertEqual(encode(value), want)

    def test_python_types(self) -> None:
        cases = [
            ("bytes", b"hi", b"\x83m\x00\x00\x00\x02hi"),
            ("bytearray", bytearray(b"hi"), b"\x83m\x00\x00\x00\x02hi"),
            ("memoryview", memoryview(b"hi"), b"\x83m\x00\x00\x00\x02hi"),
            ("frozen_list", FrozenList([1]), b"\x83k\x00\x01\x01"),
            ("str_subclass", type("S", (str,), {})("hi"), b"\x83m\x00\x00\x00\x02hi"),
            ("int_subclass", type("I", (int,), {})(5), b"\x83a\x05"),
        ]
        for name, value, want in cases:
            with self.subTest(name=name):
                self.assertEqual(encode(value), want)

    def test_encode_into_appends_without_the_version_byte(self) -> None:
        for name, source, want, value in SYMMETRIC:
            with self.subTest(name=name, erl=source):
                out = bytearray(b"head")
                encode_into(value, out)
                self.assertEqual(out, b"head" + want[1:])
        with self.assertRaisesRegex(TypeError, "builtins.set"):
            encode_into({1, 2}, bytearray())

    def test_unknown_type(self) -> None:
        with self.assertRaisesRegex(TypeError, "builtins.set"):
            encode({1, 2})
        with self.assertRaisesRegex(TypeError, "builtins.object"):
            encode([object()])

    def test_atom_limits(self) -> None:
        self.assertEqual(len(Atom("\u00e9" * 255)), 255)
        with self.assertRaises(ValueError):
            Atom("a" * 256)
        long_utf8 = Atom("\u00e9" * 200)
        self.assertEqual(encode(long_utf8)[:4], b"\x83v\x01\x90")
        self.assertIs(decode(encode(long_utf8))[0], long_utf8)

    def test_compressed(self) -> None:
        value = ["abc"] * 100
        data = encode(value, compressed=6)
        self.assertEqual(data[:2], b"\x83P")
        self.assertEqual(decode(data), (value, b""))


class TestRoundTrip(unittest.TestCase):
    """decode(encode(v)) == v for values Python builds itself."""

    def test_values(self) -> None:
        values = [
            0, 255, -256, 1 << 100, -(1 << 3000), 0.1, -0.0, float("inf"), "", "caf\u00e9 \u2603",
            b"\x00\x80\xff", [], [1, [2, [3]]], list(range(300)), [300, "x"], (), (1, (2,)),
            {"a": {"b": None}, Atom("k"): (True, False)}, {1: 2, 2.5: "x"},
            ImproperList([1, 2], Atom("tail")), BitString(b"\xff\x80", 1), Atom("with space"),
            "x" * 70000, list(range(256)) * 300,
        ]
        for value in values:
            with self.subTest(value=repr(value)[:40]):
                self.assertEqual(decode(encode(value)), (value, b""))


if __name__ == "__main__":
    unittest.main()
