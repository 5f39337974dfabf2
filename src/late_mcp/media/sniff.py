"""What a file really is, judged by its structure rather than its name or first four bytes.

Images and PDFs are recognised by their signatures. Video containers are walked a little way:
an MP4/MOV needs a well-formed `ftyp` box (plausible size, printable brands) followed by further
well-formed boxes that fit in the file, one of them `moov` or `mdat`; WebM/Matroska an EBML header
whose DocType is webm or matroska, followed by a Segment; AVI a RIFF header of type `AVI ` whose
size fits the file, followed by a LIST chunk; MPEG a pack or sequence header. A text file that
happens to start with the right four bytes fails all of these.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

ReadAt = Callable[[int, int], bytes]  # (offset, count) -> at most count bytes

_BOX_TYPE = re.compile(rb"^[A-Za-z0-9 _\-\xa9]{4}$")
_BRAND = re.compile(rb"^[A-Za-z0-9 ]{4}$")
_LEGACY_QUICKTIME_FIRST = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_MAX_FTYP = 1024  # brands are 4 bytes each; real ftyp boxes are a few dozen bytes
_MAX_BOXES = 64


def sniff(read_at: ReadAt, size: int) -> str | None:
    """Name the format of a file of `size` bytes (jpeg, png, gif, webp, pdf, iso, webm, avi,
    mpeg), or None when it is none of them."""
    head = read_at(0, 64)
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi" if _is_avi(head, size) else None
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if _is_ebml_video(read_at, size) else None
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "mpeg" if _is_mpeg(head) else None
    if len(head) >= 8 and _is_iso_media(read_at, size, head[4:8] == b"ftyp"):
        return "iso"
    return None


# -- MP4 / MOV (ISO base media) -------------------------------------------------------------------


def _box_at(read_at: ReadAt, offset: int, file_size: int) -> tuple[bytes, int] | None:
    """(type, size) of the box at `offset`, or None when its header is not a plausible box."""
    header = read_at(offset, 16)
    if len(header) < 8:
        return None
    size, kind = struct.unpack(">I4s", header[:8])
    if not _BOX_TYPE.match(kind):
        return None
    if size == 1:  # 64-bit size follows the type
        if len(header) < 16:
            return None
        size = struct.unpack(">Q", header[8:16])[0]
        if size < 16:
            return None
    elif size == 0:  # the box runs to the end of the file
        size = file_size - offset
    if size < 8 or offset + size > file_size:
        return None
    return kind, size


def _is_iso_media(read_at: ReadAt, file_size: int, has_ftyp: bool) -> bool:
    offset = 0
    kinds: list[bytes] = []
    if has_ftyp:
        ftyp = read_at(0, _MAX_FTYP)
        size = struct.unpack(">I", ftyp[:4])[0]
        if not 16 <= size <= min(_MAX_FTYP, len(ftyp)) or (size - 16) % 4:
            return False
        brands = [ftyp[8:12]] + [ftyp[i : i + 4] for i in range(16, size, 4)]
        if not all(_BRAND.match(brand) for brand in brands):
            return False
        offset = size
    else:
        first = _box_at(read_at, 0, file_size)
        if first is None or first[0] not in _LEGACY_QUICKTIME_FIRST:
            return False
    while offset < file_size and len(kinds) < _MAX_BOXES:
        box = _box_at(read_at, offset, file_size)
        if box is None:
            return False
        kinds.append(box[0])
        offset += box[1]
    return bool(kinds) and any(kind in {b"moov", b"mdat", b"moof"} for kind in kinds)


# -- WebM / Matroska (EBML) -----------------------------------------------------------------------


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `pos`: (value, next position), or None."""
    if pos >= len(data) or data[pos] == 0:
        return None
    first = data[pos]
    length = 8 - first.bit_length() + 1
    if pos + length > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length


def _is_ebml_video(read_at: ReadAt, file_size: int) -> bool:
    data = read_at(0, 4096)
    size = _vint(data, 4, keep_marker=False)
    if size is None or size[1] + size[0] > len(data):
        return False
    end, pos = size[1] + size[0], size[1]
    doc_type = None
    while pos < end:
        element = _vint(data, pos, keep_marker=True)
        length = _vint(data, element[1], keep_marker=False) if element else None
        if element is None or length is None or length[1] + length[0] > end:
            return False
        if element[0] == 0x4282:
            doc_type = data[length[1] : length[1] + length[0]].rstrip(b"\x00")
        pos = length[1] + length[0]
    segment = _vint(data, end, keep_marker=True)
    return doc_type in {b"webm", b"matroska"} and segment is not None and segment[0] == 0x18538067


# -- AVI, MPEG ------------------------------------------------------------------------------------


def _is_avi(head: bytes, file_size: int) -> bool:
    riff_size = struct.unpack("<I", head[4:8])[0]
    return 12 <= riff_size <= file_size - 8 + 1 and head[12:16] == b"LIST"


def _is_mpeg(head: bytes) -> bool:
    if head[3] == 0xBA:  # pack header: MPEG-2 starts with bits 01, MPEG-1 with 0010
        return len(head) > 4 and (head[4] >> 6 == 0b01 or head[4] >> 4 == 0b0010)
    # sequence header: width and height (12 bits each) are not zero
    return len(head) >= 7 and (head[4] << 4 | head[5] >> 4) > 0 and ((head[5] & 0x0F) << 8 | head[6]) > 0
