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
_buf = b""
_pos = 0


def random_uuid() -> str:
    """A random version-4 UUID in its canonical text form (as ``str(uuid.uuid4())``).

    >>> u = random_uuid()
    >>> len(u), u[14], u[19] in "89ab"
    (36, '4', True)
    """
    global _buf, _pos
    with _lock:
        if _pos + 16 > len(_buf):
            _buf, _pos = os.urandom(_CHUNK), 0
        b = bytearray(_buf[_pos : _pos + 16])
        _pos += 16
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _forget() -> None:
    global _buf, _pos
    _buf, _pos = b"", 0


os.register_at_fork(after_in_child=_forget)
