"""The subscription worker: a thread per server process that matches new versions and sends notifications.

Every process runs one (gunicorn builds an app per worker process); they share the work through the
database (see :mod:`.matching` and :mod:`.delivery`), so any number may run, and a process that stops
leaves nothing behind that the others or its successor cannot pick up.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from flask import Flask

from adapter.services.container import Services
from adapter.subscriptions.delivery import Claimed, Deliverer
from adapter.subscriptions.matching import Matcher

log = logging.getLogger(__name__)

#: How often delivered and abandoned notifications past their retention are removed, in seconds.
_PRUNE_EVERY = 600.0


class SubscriptionWorker:
    """Matching and delivery on a timer, with a small pool of sending threads.

    :meth:`run_once` is one round (tests and the CLI may call it directly); :meth:`start` runs rounds every
    ``subscription_poll_ms`` until :meth:`stop`.
    """

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.matcher = Matcher(services)
        self.deliverer = Deliverer(services)
        self.poll_seconds = max(settings.subscription_poll_ms, 10) / 1000
        self.threads = max(1, settings.subscription_delivery_threads)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="cmp-notify")
        self._in_flight: dict[Future, Claimed] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = 0.0

    def run_once(self, *, match: bool = True) -> tuple[int, int]:
        """One round: (notifications queued, notifications handed to the sending threads).

        ``match=False`` only hands out due notifications (the loop does that between matching rounds).
        """
        queued = self.matcher.advance() if match else 0
        self._in_flight = {future: item for future, item in self._in_flight.items() if not future.done()}
        busy = {item.subscription_id for item in self._in_flight.values()}
        claimed = self.deliverer.claim(self.threads - len(self._in_flight), busy)
        for item in claimed:
            future = self._pool.submit(self.deliverer.deliver, item)
            future.add_done_callback(lambda f, item=item: _log_failure(f, item))
            self._in_flight[future] = item
        if time.monotonic() - self._last_prune > _PRUNE_EVERY:
            self._last_prune = time.monotonic()
            self.deliverer.prune(self.services.settings.subscription_keep_hours)
        return queued, len(claimed)

    def wait_idle(self, timeout: float) -> None:
        """Wait until the notifications being sent are done (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        for future in list(self._in_flight):
            future.exception(timeout=max(0.0, deadline - time.monotonic()))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="cmp-subscriptions", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the rounds; notifications being sent finish in the background (a leased row is retried
        by another process if this one exits first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        """Match every poll interval (at once again after a full batch); between matches, hand out due
        notifications as soon as a sending thread is free, so throughput is not one batch per interval."""
        next_match = 0.0
        while not self._stop.is_set():
            match = time.monotonic() >= next_match
            try:
                self.run_once(match=match)
            except Exception:  # the thread's one handler: a failed round must not end the worker
                log.exception("subscription round failed; retrying in %.1fs", self.poll_seconds)
            if match:
                full = self.matcher.last_round_full
                next_match = time.monotonic() + (0.0 if full else self.poll_seconds)
            pause = max(0.0, next_match - time.monotonic())
            if self._in_flight:
                wait(list(self._in_flight), timeout=pause, return_when=FIRST_COMPLETED)
            else:
                self._stop.wait(pause)


def _log_failure(future: Future, item: Claimed) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("notification %d (Subscription/%s) failed unexpectedly; it is retried when its lease ends",
                  item.pk, item.subscription_id, exc_info=future.exception())


def init_app(app: Flask) -> None:
    """Start the worker for this app's services unless ``subscription_worker`` is off or Subscription is not
    served; it stops when the services close."""
    services: Services = app.extensions["cmp"]
    settings = services.settings
    if not settings.subscription_worker or "Subscription" not in settings.resource_types:
        return
    worker = SubscriptionWorker(services)
    app.extensions["cmp.subscriptions"] = worker
    services.on_close.append(worker.stop)
    worker.start()
