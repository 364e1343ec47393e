"""R4 Subscriptions with the rest-hook channel (subscription.html), delivered from the version log.

- :mod:`.definition` reads and checks a ``Subscription`` resource (criteria, channel, status) on write.
- :mod:`.matching` reads ``resource_versions`` after a durable cursor and queues a delivery for each new
  version an active subscription's criteria match (evaluated by the search engine).
- :mod:`.delivery` sends the queued notifications over HTTP, with retries and backoff, and puts a
  subscription in ``error`` after repeated failure.
- :mod:`.worker` runs both in a background thread started with the app.

Nothing here runs inside a write: see docs/decisions/011-subscriptions-from-the-version-log.md.
"""
