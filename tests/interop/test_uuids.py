"""Random ids: version-4 UUIDs, never repeated across threads, refills or a fork."""

from __future__ import annotations

import os
import threading
import uuid

from omscds.interop.uuids import random_uuid


def test_ids_are_canonical_version_4_uuids() -> None:
    for _ in range(600):  # past two refills of the buffer
        text = random_uuid()
        u = uuid.UUID(text)
        assert str(u) == text
        assert u.version == 4 and u.variant == uuid.RFC_4122


def test_every_random_digit_varies_and_the_variant_takes_its_four_values() -> None:
    ids = [random_uuid().replace("-", "") for _ in range(2000)]
    for i in range(32):
        seen = {u[i] for u in ids}
        if i == 12:
            assert seen == {"4"}  # the version
        elif i == 16:
            assert seen == set("89ab")  # the variant, two random bits
        else:
            assert len(seen) == 16, i


def test_ids_from_several_threads_never_repeat() -> None:
    got: list[list[str]] = [[] for _ in range(4)]

    def take(out: list[str]) -> None:
        out.extend(random_uuid() for _ in range(2000))

    threads = [threading.Thread(target=take, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [u for out in got for u in out]
    assert len(set(every)) == len(every) == 8000


def test_a_forked_child_does_not_reuse_the_parents_bytes() -> None:
    random_uuid()  # the parent holds a partly used buffer
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: write its next id and leave at once
        os.close(read)
        os.write(write, random_uuid().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert uuid.UUID(child).version == 4
    assert child != random_uuid()
