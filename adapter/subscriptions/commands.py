"""``cmp-adapter subscriptions-worker``: the subscription worker as a process of its own.

By default every server process runs a worker thread. A deployment that wants the API processes to spend
no CPU at all on notifications sets ``CMP_ADAPTER_SUBSCRIPTION_WORKER=false`` for ``serve`` and runs this
command (one or more, anywhere with access to the database) instead.
"""

from __future__ import annotations

import signal
import threading

import click

from adapter.conformance.packages import PackageError
from adapter.settings import Settings


@click.command("subscriptions-worker")
def subscriptions_worker() -> None:
    """Match changes against active Subscriptions and send the notifications, until stopped."""
    from adapter.services.container import Services
    from adapter.subscriptions.worker import SubscriptionWorker

    try:
        services = Services.build(Settings.load())
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    worker = SubscriptionWorker(services)
    worker.start()
    click.echo(f"subscription worker running (poll every {worker.poll_seconds:g}s); Ctrl-C or SIGTERM stops it")
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        services.close()
