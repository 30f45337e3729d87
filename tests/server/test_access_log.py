"""What a request leaves behind (reekg.server.observe): the access log's batched handler (every line comes out
whole, once and in the order it was logged, from many threads; a batch is written when it is full, on its timer
and at flush) and request ids (unique, and a forked process makes its own)."""

from __future__ import annotations

import io
import logging
import os
import threading
import time

from reekg.server.observe import BatchedLines


def _logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler.setFormatter(logging.Formatter("%(message)s"))
    return logger


def test_lines_from_many_threads_come_out_whole_and_once():
    out = io.StringIO()
    handler = BatchedLines(out, flush_seconds=0.01, max_lines=7)
    logger = _logger(handler, "reekg.test.access.threads")

    def log(t: int) -> None:
        for i in range(500):
            logger.info("%d-%d %s", t, i, "x" * 40)

    threads = [threading.Thread(target=log, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.flush()
    lines = out.getvalue().splitlines()
    assert sorted(lines) == sorted(f"{t}-{i} {'x' * 40}" for t in range(8) for i in range(500))
    for t in range(8):  # one thread's lines keep their order
        mine = [int(line.split()[0].split("-")[1]) for line in lines if line.startswith(f"{t}-")]
        assert mine == sorted(mine)


def test_a_full_batch_is_written_at_once_and_the_rest_on_the_timer():
    out = io.StringIO()
    handler = BatchedLines(out, flush_seconds=3600, max_lines=3)  # the timer never fires in this test
    logger = _logger(handler, "reekg.test.access.full")
    logger.info("one")
    logger.info("two")
    assert out.getvalue() == ""
    logger.info("three")
    assert out.getvalue() == "one\ntwo\nthree\n"
    logger.info("four")
    handler.flush()
    assert out.getvalue().endswith("three\nfour\n")

    timed = io.StringIO()
    logger = _logger(BatchedLines(timed, flush_seconds=0.02), "reekg.test.access.timer")
    logger.info("later")
    deadline = time.monotonic() + 10  # a bounded wait for the timer, not a timing
    while timed.getvalue() != "later\n":
        assert time.monotonic() < deadline, "the timer never wrote the line"
        time.sleep(0.01)


def test_request_ids_are_unique_and_a_forked_process_makes_its_own():
    from reekg.server.observe import request_id

    ids = {request_id(None) for _ in range(10_000)}
    assert len(ids) == 10_000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert request_id("client-7.a_b") == "client-7.a_b" and request_id("bad id!") not in ("bad id!", "")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child writes one id of its own and leaves at once
        os.write(write, request_id(None).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    theirs = os.read(read, 64).decode()
    os.close(read)
    assert len(theirs) == 32 and theirs[:20] != request_id(None)[:20]
