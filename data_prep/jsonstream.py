"""Stream the members of a large top-level JSON array or object without holding the whole document.

Built on the json module's C scanner (`raw_decode`), one member at a time. ijson (yajl2_c backend) was
measured as the alternative and rejected: on hostile input it segfaults (a 4,400-digit integer), grows
past 20 GB RSS (200,000 nested arrays) and silently turns a lone surrogate "\\ud800" into "?". Here those
are errors naming the file and the member: Python's int digit limit and recursion limit raise, and a
member whose text holds a surrogate escape has its strings checked.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from .errors import PrepError

CHUNK = 1 << 20
_WS = re.compile(r"[ \t\r\n]*")  # JSON's four whitespace characters
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Buffer:
    """Decoded text window over the file, refilled in chunks; knows the byte offset for error messages."""

    def __init__(self, path: Path, f, bar):
        self.path, self.f, self.bar = path, f, bar
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.text, self.pos, self.eof, self.bytes_read = "", 0, False, 0
        self.escapes = False  # whether the window may hold a surrogate escape (almost never: skip the check)

    def refill(self) -> bool:
        if self.eof:
            return False
        # Grow geometrically: a record of many MB is re-scanned a logarithmic number of times, not once per MB.
        data = self.f.read(max(CHUNK, len(self.text) - self.pos))
        self.eof = not data
        try:
            new = self.decoder.decode(data, final=self.eof)
        except UnicodeDecodeError as exc:
            raise PrepError(self.path, f"byte {self.bytes_read + exc.start}", "UTF-8 text",
                            found=f"undecodable bytes {data[exc.start:exc.start + 4]!r}") from exc
        self.bytes_read += len(data)
        self.bar.update(len(data))
        self.text = self.text[self.pos:] + new
        self.pos = 0
        self.escapes = bool(_SURROGATE_ESCAPE.search(self.text))  # whole window: an escape may straddle chunks
        return bool(data)

    def skip_ws(self) -> str:
        """Advance past whitespace; return the next character ('' at end of file)."""
        while True:
            pos = self.pos = _WS.match(self.text, self.pos).end()
            if pos < len(self.text):
                return self.text[pos]
            if not self.refill():
                return ""


def lone_surrogate(value) -> bool:
    """Whether any string in a decoded JSON value holds an unpaired surrogate (not encodable as UTF-8)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


_DECODER = json.JSONDecoder()


def decode_value(text: str, where: str, path: Path):
    """json.loads for one record (a jsonl line): PrepError instead of the json module's crashes."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:
        raise _unreadable(path, where, exc) from exc
    if _SURROGATE_ESCAPE.search(text) and lone_surrogate(value):
        raise _unreadable(path, where, UnicodeError("lone surrogate"))
    return value


def _unreadable(path: Path, where: str, exc: BaseException) -> PrepError:
    if isinstance(exc, RecursionError):
        found = "arrays/objects nested deeper than Python's JSON parser allows"
    elif isinstance(exc, UnicodeError):
        found = "a string with a lone surrogate escape (\\ud800-\\udfff unpaired), which is not valid text"
    else:  # ValueError: an integer beyond Python's digit limit
        found = f"a value Python cannot convert ({str(exc).splitlines()[0][:120]})"
    return PrepError(path, where, "a JSON value data_prep can read", found=found)


def _decode_at(buf: _Buffer, decoder: json.JSONDecoder, path: Path, where: str, what: str):
    """Decode the value starting at buf.pos (refilling as needed); return it and advance past it."""
    while True:
        try:
            obj, end = decoder.raw_decode(buf.text, buf.pos)
        except json.JSONDecodeError as exc:
            if buf.refill():  # the value may continue in the next chunk
                continue
            raise PrepError(path, where, f"a complete {what}", found=f"{exc.msg} (truncated or invalid JSON)") from exc
        except (RecursionError, ValueError) as exc:  # a cut number is shorter: over the digit limit stays over
            raise _unreadable(path, where, exc) from exc
        if end == len(buf.text) and not isinstance(obj, (dict, list)) and buf.refill():
            continue  # a bare scalar cut at the chunk edge: decode it again whole
        break
    if buf.escapes and _SURROGATE_ESCAPE.search(buf.text, buf.pos, end) and lone_surrogate(obj):
        raise _unreadable(path, where, UnicodeError("lone surrogate"))
    buf.pos = end
    return obj


def _members(path: Path, opener: str, desc: str) -> Iterator[tuple[_Buffer, int]]:
    """Positions `buf` at each member of the top-level array/object in turn; PrepError on bad structure."""
    closer, shape = ("]", "a JSON array [ {...}, ... ] of records") if opener == "[" else (
        "}", "a JSON object {id: {...}, ...}")
    size = os.path.getsize(path)
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=desc, disable=None,
                                     leave=False) as bar:
        buf = _Buffer(path, f, bar)
        first = buf.skip_ws()
        if first != opener:
            if first == "":
                found = "an empty file"
            elif opener == "[":
                found = f"{first!r} at the start (a JSON object or JSON lines?)"
            else:
                found = "a JSON array at the start" if first == "[" else f"{first!r} at the start"
            raise PrepError(path, "start of file", shape, found=found)
        buf.pos += 1
        index = 0
        while True:
            ch = buf.skip_ws()
            if ch == closer:
                buf.pos += 1
                if buf.skip_ws() != "":
                    raise PrepError(path, f"after record {index - 1}", f"end of file after the closing {closer}",
                                    found="more data")
                return
            if index:
                if ch != ",":
                    found = "end of file (truncated)" if ch == "" else repr(ch)
                    raise PrepError(path, f"record {index}", f"',' or '{closer}' after the previous record",
                                    found=found)
                buf.pos += 1
                ch = buf.skip_ws()
            if ch == "":
                raise PrepError(path, f"record {index}", "a JSON value", found="end of file (truncated)")
            yield buf, index
            index += 1


def iter_json_array(path: Path, desc: str = "read") -> Iterator[tuple[int, object]]:
    """Yield (index, element) of the JSON array in `path`; PrepError on anything that is not one."""
    decoder = json.JSONDecoder()
    for buf, index in _members(path, "[", desc):
        yield index, _decode_at(buf, decoder, path, f"record {index}", "JSON value")


def iter_json_object(path: Path, desc: str = "read") -> Iterator[tuple[str, object]]:
    """Yield (key, value) of the top-level JSON object in `path` in file order, duplicate keys included
    (json.loads would keep only the last); PrepError on anything that is not one."""
    decoder = json.JSONDecoder()
    for buf, index in _members(path, "{", desc):
        if buf.text[buf.pos] != '"':
            raise PrepError(path, f"member {index}", "a quoted id", found=repr(buf.text[buf.pos]))
        key = _decode_at(buf, decoder, path, f"member {index} (its id)", "JSON string")
        if buf.skip_ws() != ":":
            raise PrepError(path, f"id {key}", "':' after the id", found="end of file (truncated)"
                            if buf.skip_ws() == "" else repr(buf.text[buf.pos]))
        buf.pos += 1
        if buf.skip_ws() == "":
            raise PrepError(path, f"id {key}", "a JSON value", found="end of file (truncated)")
        yield key, _decode_at(buf, decoder, path, f"id {key}", "JSON value")
