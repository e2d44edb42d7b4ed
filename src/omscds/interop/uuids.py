"""Random (version 4) UUIDs for the ids omscds writes: card and suggestion uuids, draft
ServiceRequest ids, bundle entry ``urn:uuid:`` URLs.

``uuid.uuid4()`` asks the kernel for 16 bytes per id (one system call, about 3 µs); a CDS hook
answer writes about fifteen. This takes the same kernel randomness 4 KiB at a time and cuts it
into ids, under a lock (hooks also run in worker threads). A forked child drops the parent's
bytes, so two processes never hand out the same ids.
"""

from __future__ import annotations

import os
import threading

__all__ = ["random_uuid"]

_CHUNK = 4096  # 256 ids per system call
_lock = threading.Lock()
_hex = ""  # the chunk as hexadecimal text: two characters per byte
_pos = 0
#: an id's 17th hex digit carries the RFC 4122 variant (binary 10xx): the digit's low two
#: random bits kept, its top two set to 10
_VARIANT = {d: "89ab"[int(d, 16) & 0x3] for d in "0123456789abcdef"}


def random_uuid() -> str:
    """A random version-4 UUID in its canonical text form (as ``str(uuid.uuid4())``).

    >>> u = random_uuid()
    >>> len(u), u[14], u[19] in "89ab"
    (36, '4', True)
    """
    global _hex, _pos
    with _lock:
        if _pos + 32 > len(_hex):
            _hex, _pos = os.urandom(_CHUNK).hex(), 0
        h = _hex[_pos : _pos + 32]
        _pos += 32
    # the 13th digit is the version (4), as uuid4 sets it; 122 random bits remain
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def _forget() -> None:
    global _hex, _pos
    _hex, _pos = "", 0


os.register_at_fork(after_in_child=_forget)
