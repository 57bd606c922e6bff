"""Stream the objects of a large top-level JSON array without holding the whole document (or a copy)."""

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


class _Buffer:
    """Decoded text window over the file, refilled in chunks; knows the byte offset for error messages."""

    def __init__(self, path: Path, f, bar):
        self.path, self.f, self.bar = path, f, bar
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.text, self.pos, self.eof, self.bytes_read = "", 0, False, 0

    def refill(self) -> bool:
        if self.eof:
            return False
        data = self.f.read(CHUNK)
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
        return bool(data)

    def skip_ws(self) -> str:
        """Advance past whitespace; return the next character ('' at end of file)."""
        while True:
            pos = self.pos = _WS.match(self.text, self.pos).end()
            if pos < len(self.text):
                return self.text[pos]
            if not self.refill():
                return ""


def iter_json_array(path: Path, desc: str = "read") -> Iterator[tuple[int, object]]:
    """Yield (index, element) of the JSON array in `path`; PrepError on anything that is not one."""
    decoder = json.JSONDecoder()
    size = os.path.getsize(path)
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=desc, disable=None,
                                     leave=False) as bar:
        buf = _Buffer(path, f, bar)
        first = buf.skip_ws()
        if first != "[":
            found = "an empty file" if first == "" else f"{first!r} at the start (a JSON object or JSON lines?)"
            raise PrepError(path, "start of file", "a JSON array [ {...}, ... ] of records", found=found)
        buf.pos += 1
        index = 0
        while True:
            ch = buf.skip_ws()
            if ch == "]":
                buf.pos += 1
                if buf.skip_ws() != "":
                    raise PrepError(path, f"after record {index - 1}", "end of file after the closing ]",
                                    found="more data")
                return
            if index:
                if ch != ",":
                    found = "end of file (truncated)" if ch == "" else repr(ch)
                    raise PrepError(path, f"record {index}", "',' or ']' after the previous record", found=found)
                buf.pos += 1
                ch = buf.skip_ws()
            if ch == "":
                raise PrepError(path, f"record {index}", "a JSON value", found="end of file (truncated)")
            while True:
                try:
                    obj, end = decoder.raw_decode(buf.text, buf.pos)
                except json.JSONDecodeError as exc:
                    if buf.refill():  # the record may continue in the next chunk
                        continue
                    raise PrepError(path, f"record {index}", "a complete JSON value",
                                    found=f"{exc.msg} (truncated or invalid JSON)") from exc
                if end == len(buf.text) and not isinstance(obj, (dict, list)) and buf.refill():
                    continue  # a bare scalar cut at the chunk edge: decode it again whole
                break
            buf.pos = end
            yield index, obj
            index += 1
