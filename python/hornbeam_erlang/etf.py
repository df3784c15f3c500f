"""Erlang External Term Format codec in pure Python.

Spec: https://www.erlang.org/doc/apps/erts/erl_ext_dist.html

``encode(term)`` returns ``term_to_binary`` bytes (version byte 131 first);
``decode(data)`` returns ``(term, rest)``. Nothing here uses pickle or eval:
a value of an unknown type is a ``TypeError`` naming the type.

=========================  ==================================================
Erlang                     Python
=========================  ==================================================
binary (valid UTF-8)       ``str`` (a ``str`` always encodes as a binary)
binary (other bytes)       ``bytes`` (``bytearray``/``memoryview`` encode too)
integer (any size)         ``int``
float                      ``float``
``true`` / ``false``       ``bool``
``undefined``              ``None`` (``nil`` and ``none`` also decode to it)
any other atom             ``Atom``
list / string              ``list`` (a STRING_EXT is a list of ints)
improper list              ``ImproperList(items, tail)``
tuple                      ``tuple``
map                        ``dict`` (unhashable keys become ``FrozenList``
                           / ``FrozenMap``)
pid, reference, port       ``Pid``, ``Ref``, ``Port`` (raw bytes kept)
fun, external fun          ``Fun``, ``Export`` (raw bytes kept)
bitstring                  ``BitString(data, bits)``
=========================  ==================================================

Atoms encode with the UTF-8 tags (SMALL_ATOM_UTF8_EXT, ATOM_UTF8_EXT); every
tag OTP 25 writes decodes, including compressed terms (tag 80), FLOAT_EXT and
the latin-1 atom tags. Python maps cannot hold both ``1`` and ``True`` or an
atom and a binary with the same text as keys: ``Atom`` compares equal to its
``str`` so handlers can write ``action == 'encode'`` whichever way it came.
"""

import struct
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = [
    "Atom",
    "BitString",
    "Export",
    "FrozenList",
    "FrozenMap",
    "Fun",
    "ImproperList",
    "IncompleteData",
    "Opaque",
    "Pid",
    "Port",
    "Ref",
    "decode",
    "encode",
    "encode_into",
]

VERSION = 131

NEW_FLOAT_EXT = 70
BIT_BINARY_EXT = 77
COMPRESSED = 80
NEW_PID_EXT = 88
NEW_PORT_EXT = 89
NEWER_REFERENCE_EXT = 90
SMALL_INTEGER_EXT = 97
INTEGER_EXT = 98
FLOAT_EXT = 99
ATOM_EXT = 100
REFERENCE_EXT = 101
PORT_EXT = 102
PID_EXT = 103
SMALL_TUPLE_EXT = 104
LARGE_TUPLE_EXT = 105
NIL_EXT = 106
STRING_EXT = 107
LIST_EXT = 108
BINARY_EXT = 109
SMALL_BIG_EXT = 110
LARGE_BIG_EXT = 111
NEW_FUN_EXT = 112
EXPORT_EXT = 113
NEW_REFERENCE_EXT = 114
SMALL_ATOM_EXT = 115
MAP_EXT = 116
FUN_EXT = 117
ATOM_UTF8_EXT = 118
SMALL_ATOM_UTF8_EXT = 119
V4_PORT_EXT = 120

MAX_ATOM_CHARS = 255
MAX_UNCOMPRESSED = 256 << 20
"""Largest uncompressed size of a compressed term that decode accepts."""

_u16 = struct.Struct(">H")
_u32 = struct.Struct(">I")
_i32 = struct.Struct(">i")
_f64 = struct.Struct(">d")
_tag_u8 = struct.Struct(">BB")
_tag_u16 = struct.Struct(">BH")
_tag_u32 = struct.Struct(">BI")
_tag_i32 = struct.Struct(">Bi")
_tag_f64 = struct.Struct(">Bd")
_tag_u32_u8 = struct.Struct(">BIB")
_tag_u8_u8 = struct.Struct(">BBB")
_tag_u8_u32 = struct.Struct(">BBI")


class IncompleteData(ValueError):
    """The bytes end before the term does; read more and decode again.

    ``data`` holds the bytes that were given, so a stream reader can keep
    them and append what arrives next.
    """

    def __init__(self, data: bytes, what: str = "term") -> None:
        super().__init__("etf: incomplete %s in %d bytes" % (what, len(data)))
        self.data = data


class Atom(str):
    """An Erlang atom: an interned ``str`` of at most 255 characters.

    ``Atom('ok') is Atom('ok')``; an atom equals the plain ``str`` with the
    same text. 255 characters is Erlang's limit (up to 1020 bytes of UTF-8).
    """

    __slots__ = ()
    _interned: Dict[str, "Atom"] = {}

    def __new__(cls, name: str) -> "Atom":
        if not isinstance(name, str):
            raise TypeError("etf: atom name must be str, not %r" % (name,))
        atom = cls._interned.get(name)
        if atom is None:
            if len(name) > MAX_ATOM_CHARS:
                raise ValueError("etf: atom longer than 255 characters: %r" % (name,))
            atom = cls._interned.setdefault(str(name), super().__new__(cls, name))
        return atom

    def __repr__(self) -> str:
        return "Atom(%s)" % str.__repr__(self)


class Opaque:
    """An Erlang value Python only carries: its encoded bytes, tag first.

    Two opaque values are equal when their bytes are; they encode back to
    exactly the bytes they were decoded from.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: bytes) -> None:
        self.raw = bytes(raw)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.raw == self.raw  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.raw))

    def __repr__(self) -> str:
        return "%s(%r)" % (type(self).__name__, self.raw)


class _NodeBound(Opaque):
    """An opaque value that names the node it belongs to."""

    __slots__ = ()

    @property
    def node(self) -> Atom:
        """The name of the node the value belongs to."""
        offset = 3 if self.raw[0] in (NEW_REFERENCE_EXT, NEWER_REFERENCE_EXT) else 1
        node, _ = _decode_at(memoryview(self.raw), offset)
        return node  # type: ignore[no-any-return]


class Pid(_NodeBound):
    """An Erlang process identifier."""

    __slots__ = ()


class Ref(_NodeBound):
    """An Erlang reference."""

    __slots__ = ()


class Port(_NodeBound):
    """An Erlang port identifier."""

    __slots__ = ()


class Fun(Opaque):
    """An Erlang fun (a closure); callable only on the Erlang side."""

    __slots__ = ()


class Export(Opaque):
    """An external fun, ``fun Module:Function/Arity``."""

    __slots__ = ()


class BitString:
    """A bitstring whose last byte holds only ``bits`` (1..8) high bits."""

    __slots__ = ("data", "bits")

    def __init__(self, data: bytes, bits: int) -> None:
        if not 1 <= bits <= 8 or not data:
            raise ValueError("etf: bad bitstring: %r bits of %r" % (bits, data))
        self.data = bytes(data)
        self.bits = bits

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, BitString) and other.data == self.data
                and other.bits == self.bits)

    def __hash__(self) -> int:
        return hash((self.data, self.bits))

    def __repr__(self) -> str:
        return "BitString(%r, %d)" % (self.data, self.bits)


class ImproperList:
    """A list whose tail is not ``[]``: ``[items... | tail]``."""

    __slots__ = ("items", "tail")

    def __init__(self, items: List[Any], tail: Any) -> None:
        if not items:
            raise ValueError("etf: an improper list needs at least one item")
        self.items = items
        self.tail = tail

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ImproperList) and other.items == self.items
                and other.tail == self.tail)

    def __repr__(self) -> str:
        return "ImproperList(%r, %r)" % (self.items, self.tail)


class FrozenList(tuple):  # type: ignore[type-arg]
    """A hashable list, used for list keys of a decoded map; encodes as a list."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FrozenList(%r)" % (list(self),)


class FrozenMap(frozenset):  # type: ignore[type-arg]
    """A hashable map of ``(key, value)`` pairs, used for map keys of a map."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FrozenMap(%r)" % (dict(self),)


def _freeze(value: Any) -> Any:
    """Return a hashable form of a decoded value, for use as a dict key."""
    if isinstance(value, list):
        return FrozenList(_freeze(v) for v in value)
    if isinstance(value, dict):
        return FrozenMap((_freeze(k), _freeze(v)) for k, v in value.items())
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_freeze(v) for v in value)
    if isinstance(value, ImproperList):
        return ("improper", _freeze(value.items), _freeze(value.tail))
    return value


# Decoding.

_Decoder = Callable[[memoryview, int], Tuple[Any, int]]

_SPECIAL_ATOMS: Dict[bytes, Any] = {
    b"true": True,
    b"false": False,
    b"undefined": None,
    b"nil": None,
    b"none": None,
}
_atom_caches: Dict[str, Dict[bytes, Any]] = {"latin-1": {}, "utf-8": {}}
"""Decoded atoms by their bytes, one cache per text encoding, each of at most ``_ATOM_CACHE_SIZE``."""
_ATOM_CACHE_SIZE = 65536


def _need(buf: memoryview, end: int, what: str) -> None:
    if end > len(buf):
        raise IncompleteData(bytes(buf), what)


_MISSING = object()


def _new_atom(raw: bytes, encoding: str, cache: Dict[bytes, Any]) -> Any:
    """Return the value of the atom ``raw`` and remember it in ``cache``, while it has room."""
    atom = _SPECIAL_ATOMS.get(raw, _MISSING)
    if atom is _MISSING:
        atom = Atom(raw.decode(encoding))
    if len(cache) < _ATOM_CACHE_SIZE:
        cache[raw] = atom
    return atom


def _dec_small_int(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return buf[pos + 1], pos + 2


def _dec_int(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return _i32.unpack_from(buf, pos + 1)[0], pos + 5


def _dec_new_float(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return _f64.unpack_from(buf, pos + 1)[0], pos + 9


def _dec_float(buf: memoryview, pos: int) -> Tuple[Any, int]:
    end = pos + 32
    _need(buf, end, "FLOAT_EXT")
    text = bytes(buf[pos + 1:end]).rstrip(b"\x00")
    try:
        return float(text), end
    except ValueError:
        raise ValueError("etf: bad FLOAT_EXT %r at offset %d" % (text, pos)) from None


def _dec_atom16(encoding: str) -> _Decoder:
    cache = _atom_caches[encoding]

    def dec(buf: memoryview, pos: int) -> Tuple[Any, int]:
        start = pos + 3
        end = start + _u16.unpack_from(buf, pos + 1)[0]
        if end > len(buf):
            raise IncompleteData(bytes(buf), "atom")
        raw = bytes(buf[start:end])
        atom = cache.get(raw, _MISSING)
        if atom is _MISSING:
            atom = _new_atom(raw, encoding, cache)
        return atom, end
    return dec


def _dec_atom8(encoding: str) -> _Decoder:
    cache = _atom_caches[encoding]

    def dec(buf: memoryview, pos: int) -> Tuple[Any, int]:
        start = pos + 2
        end = start + buf[pos + 1]
        if end > len(buf):
            raise IncompleteData(bytes(buf), "atom")
        raw = bytes(buf[start:end])
        atom = cache.get(raw, _MISSING)
        if atom is _MISSING:
            atom = _new_atom(raw, encoding, cache)
        return atom, end
    return dec


def _dec_binary(buf: memoryview, pos: int) -> Tuple[Any, int]:
    start = pos + 5
    end = start + _u32.unpack_from(buf, pos + 1)[0]
    if end > len(buf):
        raise IncompleteData(bytes(buf), "BINARY_EXT")
    chunk = buf[start:end]
    try:
        return str(chunk, "utf-8"), end
    except UnicodeDecodeError:
        return bytes(chunk), end


def _dec_bit_binary(buf: memoryview, pos: int) -> Tuple[Any, int]:
    size = _u32.unpack_from(buf, pos + 1)[0]
    bits = buf[pos + 5]
    start = pos + 6
    end = start + size
    _need(buf, end, "BIT_BINARY_EXT")
    try:
        return BitString(bytes(buf[start:end]), bits), end
    except ValueError:
        raise ValueError("etf: bad BIT_BINARY_EXT at offset %d" % pos) from None


def _dec_string(buf: memoryview, pos: int) -> Tuple[Any, int]:
    start = pos + 3
    end = start + _u16.unpack_from(buf, pos + 1)[0]
    _need(buf, end, "STRING_EXT")
    return list(buf[start:end]), end


def _dec_nil(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return [], pos + 1


def _dec_list(buf: memoryview, pos: int) -> Tuple[Any, int]:
    count = _u32.unpack_from(buf, pos + 1)[0]
    pos += 5
    if pos + count + 1 > len(buf):
        raise IncompleteData(bytes(buf), "LIST_EXT")
    items = []
    append = items.append
    decoders = _DECODERS
    for _ in range(count):
        item, pos = decoders[buf[pos]](buf, pos)
        append(item)
    if buf[pos] == NIL_EXT:
        return items, pos + 1
    tail, pos = _decode_at(buf, pos)
    if not items:
        raise ValueError("etf: empty LIST_EXT with a tail")
    return ImproperList(items, tail), pos


def _dec_tuple_items(buf: memoryview, pos: int, count: int) -> Tuple[Any, int]:
    if pos + count > len(buf):
        raise IncompleteData(bytes(buf), "tuple")
    items = [None] * count
    decoders = _DECODERS
    for i in range(count):
        items[i], pos = decoders[buf[pos]](buf, pos)
    return tuple(items), pos


def _dec_small_tuple(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return _dec_tuple_items(buf, pos + 2, buf[pos + 1])


def _dec_large_tuple(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return _dec_tuple_items(buf, pos + 5, _u32.unpack_from(buf, pos + 1)[0])


def _dec_map(buf: memoryview, pos: int) -> Tuple[Any, int]:
    count = _u32.unpack_from(buf, pos + 1)[0]
    pos += 5
    if pos + 2 * count > len(buf):
        raise IncompleteData(bytes(buf), "MAP_EXT")
    result = {}
    decoders = _DECODERS
    for _ in range(count):
        key, pos = decoders[buf[pos]](buf, pos)
        value, pos = decoders[buf[pos]](buf, pos)
        try:
            result[key] = value
        except TypeError:
            result[_freeze(key)] = value
    return result, pos


def _dec_big(buf: memoryview, pos: int, size: int, start: int) -> Tuple[Any, int]:
    sign = buf[start - 1]
    end = start + size
    _need(buf, end, "big integer")
    value = int.from_bytes(buf[start:end], "little")
    return (-value if sign else value), end


def _dec_small_big(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return _dec_big(buf, pos, buf[pos + 1], pos + 3)


def _dec_large_big(buf: memoryview, pos: int) -> Tuple[Any, int]:
    return _dec_big(buf, pos, _u32.unpack_from(buf, pos + 1)[0], pos + 6)


def _opaque(cls: type, fixed: int) -> _Decoder:
    """Return a decoder for ``node atom`` followed by ``fixed`` bytes."""
    def dec(buf: memoryview, pos: int) -> Tuple[Any, int]:
        node, end = _decode_at(buf, pos + 1)
        if not isinstance(node, Atom):
            raise ValueError("etf: node of tag %d at offset %d is not an atom" % (buf[pos], pos))
        end += fixed
        _need(buf, end, cls.__name__)
        return cls(buf[pos:end]), end
    return dec


def _dec_reference(word: int) -> _Decoder:
    def dec(buf: memoryview, pos: int) -> Tuple[Any, int]:
        words = _u16.unpack_from(buf, pos + 1)[0]
        if words > 5:
            raise ValueError("etf: reference of %d words at offset %d" % (words, pos))
        node, end = _decode_at(buf, pos + 3)
        if not isinstance(node, Atom):
            raise ValueError("etf: reference node at offset %d is not an atom" % pos)
        end += word + 4 * words
        _need(buf, end, "reference")
        return Ref(buf[pos:end]), end
    return dec


def _dec_new_fun(buf: memoryview, pos: int) -> Tuple[Any, int]:
    size = _u32.unpack_from(buf, pos + 1)[0]
    end = pos + 1 + size
    if size < 4:
        raise ValueError("etf: NEW_FUN_EXT of size %d at offset %d" % (size, pos))
    _need(buf, end, "NEW_FUN_EXT")
    return Fun(buf[pos:end]), end


def _dec_old_fun(buf: memoryview, pos: int) -> Tuple[Any, int]:
    free = _u32.unpack_from(buf, pos + 1)[0]
    end = pos + 5
    for _ in range(4 + free):
        _, end = _decode_at(buf, end)
    return Fun(buf[pos:end]), end


def _dec_export(buf: memoryview, pos: int) -> Tuple[Any, int]:
    end = pos + 1
    for _ in range(3):
        _, end = _decode_at(buf, end)
    return Export(buf[pos:end]), end


def _dec_compressed(buf: memoryview, pos: int) -> Tuple[Any, int]:
    size = _u32.unpack_from(buf, pos + 1)[0]
    if size > MAX_UNCOMPRESSED:
        raise ValueError("etf: compressed term of %d bytes exceeds %d" % (size, MAX_UNCOMPRESSED))
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(buf[pos + 5:], size + 1)
    except zlib.error as exc:
        raise ValueError("etf: bad zlib data at offset %d: %s" % (pos, exc)) from None
    if not inflater.eof:
        if len(data) <= size:
            raise IncompleteData(bytes(buf), "compressed term")
        raise ValueError("etf: compressed term at offset %d is larger than %d bytes" % (pos, size))
    if len(data) != size:
        raise ValueError("etf: compressed term at offset %d is %d bytes, not %d"
                         % (pos, len(data), size))
    inner = memoryview(data)
    try:
        term, used = _decode_at(inner, 0)
    except IncompleteData:
        raise ValueError("etf: truncated term inside compressed data at offset %d" % pos) from None
    if used != size:
        raise ValueError("etf: %d stray bytes inside compressed data at offset %d"
                         % (size - used, pos))
    return term, len(buf) - len(inflater.unused_data)


_DECODERS: Dict[int, _Decoder] = {
    NEW_FLOAT_EXT: _dec_new_float,
    BIT_BINARY_EXT: _dec_bit_binary,
    NEW_PID_EXT: _opaque(Pid, 12),
    NEW_PORT_EXT: _opaque(Port, 8),
    V4_PORT_EXT: _opaque(Port, 12),
    NEWER_REFERENCE_EXT: _dec_reference(4),
    SMALL_INTEGER_EXT: _dec_small_int,
    INTEGER_EXT: _dec_int,
    FLOAT_EXT: _dec_float,
    ATOM_EXT: _dec_atom16("latin-1"),
    REFERENCE_EXT: _opaque(Ref, 5),
    PORT_EXT: _opaque(Port, 5),
    PID_EXT: _opaque(Pid, 9),
    SMALL_TUPLE_EXT: _dec_small_tuple,
    LARGE_TUPLE_EXT: _dec_large_tuple,
    NIL_EXT: _dec_nil,
    STRING_EXT: _dec_string,
    LIST_EXT: _dec_list,
    BINARY_EXT: _dec_binary,
    SMALL_BIG_EXT: _dec_small_big,
    LARGE_BIG_EXT: _dec_large_big,
    NEW_FUN_EXT: _dec_new_fun,
    EXPORT_EXT: _dec_export,
    NEW_REFERENCE_EXT: _dec_reference(1),
    SMALL_ATOM_EXT: _dec_atom8("latin-1"),
    MAP_EXT: _dec_map,
    FUN_EXT: _dec_old_fun,
    ATOM_UTF8_EXT: _dec_atom16("utf-8"),
    SMALL_ATOM_UTF8_EXT: _dec_atom8("utf-8"),
}


def _decode_at(buf: memoryview, pos: int) -> Tuple[Any, int]:
    """Decode the term whose tag is at ``buf[pos]``; return it and the next offset."""
    tag = buf[pos]
    dec = _DECODERS.get(tag)
    if dec is None:
        raise ValueError("etf: unknown tag %d at offset %d" % (tag, pos))
    return dec(buf, pos)


def decode(data: bytes) -> Tuple[Any, bytes]:
    """Decode one ``term_to_binary`` term; return ``(term, rest)``.

    ``rest`` holds the bytes after the term. Raises ``IncompleteData`` when
    ``data`` ends before the term does, ``ValueError`` when it is malformed
    (a wrong version byte, an unknown tag, a bad length, bad UTF-8 in an
    atom).
    """
    buf = memoryview(data)
    if not len(buf):
        raise IncompleteData(bytes(data), "version byte")
    if buf[0] != VERSION:
        raise ValueError("etf: version byte %d, want %d" % (buf[0], VERSION))
    if len(buf) < 2:
        raise IncompleteData(bytes(data), "term")
    if buf[1] == COMPRESSED:
        decoder = _dec_compressed
    else:
        decoder = _decode_at
    try:
        term, end = decoder(buf, 1)
    except (IndexError, struct.error):
        raise IncompleteData(bytes(data)) from None
    except UnicodeDecodeError as exc:
        raise ValueError("etf: bad atom text: %s" % exc) from None
    except KeyError as exc:
        raise ValueError("etf: unknown tag %s" % exc) from None
    return term, (bytes(buf[end:]) if end < len(buf) else b"")


# Encoding.

_Encoder = Callable[[Any, bytearray], None]


def _enc_atom_text(name: str, out: bytearray) -> None:
    raw = name.encode("utf-8")
    if len(raw) < 256:
        out += _tag_u8.pack(SMALL_ATOM_UTF8_EXT, len(raw))
    else:
        out += _tag_u16.pack(ATOM_UTF8_EXT, len(raw))
    out += raw


_atom_bytes: Dict[str, bytes] = {}


def _enc_atom(atom: Any, out: bytearray) -> None:
    raw = _atom_bytes.get(atom)
    if raw is None:
        chunk = bytearray()
        _enc_atom_text(atom, chunk)
        raw = bytes(chunk)
        if len(_atom_bytes) < 65536:
            _atom_bytes[str(atom)] = raw
    out += raw


_TRUE = b"\x77\x04true"
_FALSE = b"\x77\x05false"
_UNDEFINED = b"\x77\x09undefined"


def _enc_bool(value: bool, out: bytearray) -> None:
    out += _TRUE if value else _FALSE


def _enc_none(_: None, out: bytearray) -> None:
    out += _UNDEFINED


def _enc_int(value: int, out: bytearray) -> None:
    if 0 <= value < 256:
        out += _tag_u8.pack(SMALL_INTEGER_EXT, value)
    elif -2147483648 <= value <= 2147483647:
        out += _tag_i32.pack(INTEGER_EXT, value)
    else:
        sign = value < 0
        magnitude = -value if sign else value
        size = (magnitude.bit_length() + 7) // 8
        if size < 256:
            out += _tag_u8_u8.pack(SMALL_BIG_EXT, size, sign)
        else:
            out += _tag_u32_u8.pack(LARGE_BIG_EXT, size, sign)
        out += magnitude.to_bytes(size, "little")


def _enc_float(value: float, out: bytearray) -> None:
    out += _tag_f64.pack(NEW_FLOAT_EXT, value)


def _enc_str(value: str, out: bytearray) -> None:
    raw = value.encode("utf-8")
    out += _tag_u32.pack(BINARY_EXT, len(raw))
    out += raw


def _enc_bytes(value: Any, out: bytearray) -> None:
    out += _tag_u32.pack(BINARY_EXT, len(value))
    out += value


def _enc_memoryview(value: memoryview, out: bytearray) -> None:
    _enc_bytes(value.cast("B"), out)


def _enc_list(value: Any, out: bytearray) -> None:
    if not value:
        out.append(NIL_EXT)
        return
    if len(value) < 65536 and all(type(v) is int and 0 <= v < 256 for v in value):
        out += _tag_u16.pack(STRING_EXT, len(value))
        out += bytes(value)
        return
    out += _tag_u32.pack(LIST_EXT, len(value))
    for item in value:
        _encode_into(item, out)
    out.append(NIL_EXT)


def _enc_improper(value: ImproperList, out: bytearray) -> None:
    out += _tag_u32.pack(LIST_EXT, len(value.items))
    for item in value.items:
        _encode_into(item, out)
    _encode_into(value.tail, out)


def _enc_tuple(value: Tuple[Any, ...], out: bytearray) -> None:
    if len(value) < 256:
        out += _tag_u8.pack(SMALL_TUPLE_EXT, len(value))
    else:
        out += _tag_u32.pack(LARGE_TUPLE_EXT, len(value))
    for item in value:
        _encode_into(item, out)


def _enc_dict(value: Any, out: bytearray) -> None:
    out += _tag_u32.pack(MAP_EXT, len(value))
    for key, item in value.items():
        _encode_into(key, out)
        _encode_into(item, out)


def _enc_frozen_map(value: FrozenMap, out: bytearray) -> None:
    out += _tag_u32.pack(MAP_EXT, len(value))
    for key, item in value:
        _encode_into(key, out)
        _encode_into(item, out)


def _enc_opaque(value: Opaque, out: bytearray) -> None:
    out += value.raw


def _enc_bitstring(value: BitString, out: bytearray) -> None:
    out += _tag_u32_u8.pack(BIT_BINARY_EXT, len(value.data), value.bits)
    out += value.data


_ENCODERS: Dict[type, _Encoder] = {
    str: _enc_str,
    Atom: _enc_atom,
    bytes: _enc_bytes,
    bytearray: _enc_bytes,
    memoryview: _enc_memoryview,
    bool: _enc_bool,
    type(None): _enc_none,
    int: _enc_int,
    float: _enc_float,
    list: _enc_list,
    FrozenList: _enc_list,
    ImproperList: _enc_improper,
    tuple: _enc_tuple,
    dict: _enc_dict,
    FrozenMap: _enc_frozen_map,
    Pid: _enc_opaque,
    Ref: _enc_opaque,
    Port: _enc_opaque,
    Fun: _enc_opaque,
    Export: _enc_opaque,
    BitString: _enc_bitstring,
}

_SUBCLASS_ORDER: Tuple[Tuple[type, _Encoder], ...] = (
    (Atom, _enc_atom),
    (bool, _enc_bool),
    (int, _enc_int),
    (float, _enc_float),
    (str, _enc_str),
    (bytes, _enc_bytes),
    (bytearray, _enc_bytes),
    (FrozenList, _enc_list),
    (FrozenMap, _enc_frozen_map),
    (list, _enc_list),
    (tuple, _enc_tuple),
    (dict, _enc_dict),
    (Opaque, _enc_opaque),
)


def _encode_into(value: Any, out: bytearray) -> None:
    enc = _ENCODERS.get(type(value))
    if enc is None:
        enc = _encoder_for(type(value))
    enc(value, out)


def _encoder_for(cls: type) -> _Encoder:
    """Return the encoder of the nearest supported base class of ``cls``."""
    for base, enc in _SUBCLASS_ORDER:
        if issubclass(cls, base):
            return enc
    raise TypeError("etf: cannot encode a value of type %s.%s"
                    % (cls.__module__, cls.__qualname__))


def encode_into(term: Any, out: bytearray) -> None:
    """Append the encoding of ``term``, without the version byte, to ``out``.

    For callers that build a frame around a term without copying it. Raises
    ``TypeError`` like ``encode``; ``out`` then holds part of the term.
    """
    _encode_into(term, out)


def encode(term: Any, compressed: Optional[int] = None) -> bytes:
    """Encode ``term`` as ``term_to_binary`` does; return the bytes.

    ``compressed`` is a zlib level (1..9) or None for no compression. Raises
    ``TypeError`` naming the type of a value it cannot encode.
    """
    out = bytearray(b"\x83")
    _encode_into(term, out)
    if compressed is None:
        return bytes(out)
    body = bytes(out[1:])
    return _tag_u8_u32.pack(VERSION, COMPRESSED, len(body)) + zlib.compress(body, compressed)
