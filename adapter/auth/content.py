"""What a resource's content asks of the caller beyond the write itself.

A Subscription makes the server send every resource matching its criteria to an endpoint of the
subscriber's choosing, so creating or changing one amounts to reading those resources: the caller needs
read and search on the criteria's type. Without this, a client allowed to write Subscriptions but only to
read CarePlans could receive every Patient through notifications.
"""

from __future__ import annotations

from typing import Any

from adapter.auth.access import Access


def content_refusal(access: Access, resource: Any) -> str | None:
    """Why ``access`` may not write ``resource`` because of what it contains, or None."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        return None
    criteria = resource.get("criteria")
    if not isinstance(criteria, str) or not criteria.strip():
        return None  # not a valid Subscription: its own checks refuse it with a 422
    target = criteria.split("?", 1)[0].strip().rstrip("/").rsplit("/", 1)[-1]
    lacking = "".join(letter for letter in "rs" if not access.permissions.allows(target, letter))
    if not lacking:
        return None
    return (f"a Subscription to {target} sends {target} resources to its endpoint: the access token's scopes "
            f"must grant {lacking} on {target} (e.g. system/{target}.rs)")
