"""How long the collector waits and how much it accepts from an endpoint, and why these figures.

An endpoint is not trusted to behave: a wrong ``--base-url``, a broken proxy or a hostile server can ask
for a wait of years (``Retry-After: 100000000`` or a date in the year 9999), trickle one byte every few
seconds so that no read ever times out, send ``@odata.nextLink`` after ``@odata.nextLink`` without end, or
answer with a page of hundreds of megabytes. Every one of these is bounded here, and each bound is an option
of ``graphlattice collect`` (and ``assess --live``):

* ``max_wait`` (``--max-wait``, 300 s): the longest ``Retry-After`` honoured. Graph asks for seconds, at most
  a few minutes; a longer wait fails the collection with a message naming the endpoint and the wait asked
  for, and a later ``--resume`` reads it.
* ``deadline`` (``--request-timeout``, 300 s): one request, from sending it to the last byte of its answer.
  It is enforced around the whole exchange, so a server trickling bytes cannot stretch it; httpx's own
  timeouts (connect 15 s, 60 s without a byte, 60 s to send, 120 s waiting for a free connection, each at
  most the deadline) catch the quieter failures sooner. A request that runs out of time is retried like a
  dropped connection.
* ``max_pages`` (``--max-pages``, 100,000): pages of one collection (or of one object's member, owner or
  assignment list). Graph's pages hold up to 999 directory objects or 1,000 log records, so 100,000 pages is
  almost 100 million directory objects, several hundred times Entra's default quota of 300,000 objects per
  tenant (more only through Microsoft support) and beyond the largest tenants, or 100 million sign-ins, which
  the reports budget of 5 requests per 10 s takes 55 hours to read. A next link that was already followed
  is a loop and stops the collection at once.
* ``max_page_bytes`` (``--max-page-mb``, 128 MiB): one answer, counted as it streams in (after
  decompression) and refused as soon as it is larger, or before reading when its ``Content-Length`` says so.
  Graph's largest pages are sign-ins: 1,000 records at Microsoft's average of 11.5 KB is 11.5 MB, so the cap
  leaves ten times that, and bounds the memory a page can take (parsing needs a few times its size).

A collection that hits a bound is recorded in the manifest as an error with the reason, and the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = ["MB", "Limits"]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_wait: float = 300.0  # seconds: the longest Retry-After honoured
    deadline: float = 300.0  # seconds: one request, sending included, to the last byte of its answer
    connect: float = 15.0
    read: float = 60.0  # seconds without a byte of the answer
    write: float = 60.0
    pool: float = 120.0  # waiting for one of the client's connections
    max_pages: int = 100_000  # per collection, and per object's child list
    max_page_bytes: int = 128 * MB

    def timeout(self) -> httpx.Timeout:
        """httpx's timeouts, none longer than the whole request may take."""
        import httpx

        cap = self.deadline
        return httpx.Timeout(
            connect=min(self.connect, cap),
            read=min(self.read, cap),
            write=min(self.write, cap),
            pool=min(self.pool, cap),
        )
