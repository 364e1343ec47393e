"""``cmp-adapter clients ...`` (the registry of SMART backend clients) and the credential options of the
exchange commands (``push``, ``pull``, ``sandbox-check``).

The commands are thin wrappers over :class:`~adapter.auth.clients.ClientRegistry`, on the database of the
same settings the server uses (``CMP_ADAPTER_DATABASE_URL``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from adapter.settings import Settings


def _registry():
    from adapter.auth.clients import ClientRegistry
    from adapter.store.migrate import upgrade_database
    from adapter.store.sql import ResourceStore

    settings = Settings.load()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = ResourceStore.create_engine(settings.effective_database_url)
    upgrade_database(engine)
    return ClientRegistry(engine)


@click.group()
def clients() -> None:
    """SMART Backend Services clients allowed to get access tokens (docs/security.md)."""


@clients.command("add")
@click.option("--id", "client_id", required=True, help="The client id (the assertion's iss and sub).")
@click.option("--jwks", "jwks_file", type=click.Path(exists=True, dir_okay=False), help="The client's public JWKS.")
@click.option("--jwks-url", default=None, help="Where the client publishes its public JWKS (https).")
@click.option("--scope", required=True,
              help='Scopes it may be granted, space-separated: "system/*.rs system/Encounter.cruds".')
@click.option("--organization", "organizations", multiple=True,
              help="Restrict it to the members of Organization/[id] (repeatable).")
def clients_add(client_id: str, jwks_file: str | None, jwks_url: str | None, scope: str,
                organizations: tuple[str, ...]) -> None:
    """Register (or replace) a client."""
    from adapter.auth.clients import Client, ClientError

    try:
        jwks = json.loads(Path(jwks_file).read_text(encoding="utf-8")) if jwks_file else None
        _registry().add(Client(client_id, scope, organizations, jwks, jwks_url))
    except (ClientError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    restriction = f", restricted to {', '.join(organizations)}" if organizations else ""
    click.echo(f"client {client_id} registered: {' '.join(scope.split())}{restriction}")


@clients.command("list")
def clients_list() -> None:
    """The registered clients: id, scopes, organizations, where their keys are."""
    for client in _registry().all():
        keys = client.jwks_url or f"{len((client.jwks or {}).get('keys', []))} key(s) in JWKS"
        orgs = " ".join(client.organizations) or "-"
        click.echo(f"{client.client_id}\t{client.scope}\t{orgs}\t{keys}")


@clients.command("remove")
@click.argument("client_id")
def clients_remove(client_id: str) -> None:
    """Unregister a client: its tokens stop working at once."""
    if not _registry().remove(client_id):
        raise click.ClickException(f"no client {client_id!r}")
    click.echo(f"client {client_id} removed")


@clients.command("keygen")
@click.option("--private-key", "private_out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the new private key (PEM, mode 600). Keep it on the client's side.")
@click.option("--jwks", "jwks_out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the public JWKS to register with `clients add --jwks`.")
@click.option("--alg", type=click.Choice(["ES384", "RS384"]), default="ES384", show_default=True)
def clients_keygen(private_out: str, jwks_out: str, alg: str) -> None:
    """Make a key pair for a backend client (with the cryptography library)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from adapter.client import public_jwk

    key = ec.generate_private_key(ec.SECP384R1()) if alg == "ES384" else rsa.generate_private_key(65537, 3072)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    private_path = Path(private_out)
    private_path.touch(mode=0o600, exist_ok=False)
    private_path.write_bytes(pem)
    Path(jwks_out).write_text(json.dumps({"keys": [public_jwk(key)]}, indent=2) + "\n", encoding="utf-8")
    click.echo(f"private key: {private_out}  public JWKS: {jwks_out}")


# --- credentials of the exchange commands --------------------------------------------------------------------


def credential_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--token`` or ``--client-id/--private-key`` (SMART backend services), also from the environment;
    the command receives one ``auth`` argument for :class:`~adapter.client.FhirClient`."""

    @click.option("--token", envvar="CMP_ADAPTER_CLIENT_TOKEN", default=None,
                  help="A bearer access token [env CMP_ADAPTER_CLIENT_TOKEN].")
    @click.option("--client-id", envvar="CMP_ADAPTER_CLIENT_ID", default=None,
                  help="SMART backend services client id [env CMP_ADAPTER_CLIENT_ID].")
    @click.option("--private-key", envvar="CMP_ADAPTER_CLIENT_PRIVATE_KEY", default=None,
                  type=click.Path(exists=True, dir_okay=False),
                  help="The client's private key, PEM or JWK [env CMP_ADAPTER_CLIENT_PRIVATE_KEY].")
    @click.option("--key-id", envvar="CMP_ADAPTER_CLIENT_KEY_ID", default=None,
                  help="kid of the key as registered (default: the JWK's kid or the key's thumbprint).")
    @click.option("--scope", "client_scope", envvar="CMP_ADAPTER_CLIENT_SCOPE", default="system/*.cruds",
                  show_default=True, help="Scopes to ask for (the server grants those it allows).")
    @functools.wraps(command)
    def wrapper(*args: Any, token: str | None, client_id: str | None, private_key: str | None,
                key_id: str | None, client_scope: str, **kwargs: Any) -> Any:
        base_url = kwargs.get("base_url", "")
        kwargs["auth"] = client_auth(base_url, token, client_id, private_key, key_id, client_scope)
        return command(*args, **kwargs)

    return wrapper


def client_auth(base_url: str, token: str | None, client_id: str | None, private_key: str | None,
                key_id: str | None, scope: str) -> Any:
    """What the client authenticates with: a bearer token, SMART credentials, or nothing.

    :raise click.UsageError: both kinds, or half of the SMART pair.
    """
    if token and (client_id or private_key):
        raise click.UsageError("give either --token or --client-id/--private-key, not both")
    if token:
        return token
    if bool(client_id) != bool(private_key):
        raise click.UsageError("--client-id and --private-key go together")
    if not client_id:
        return None
    from adapter.client import BackendServicesCredentials

    try:
        return BackendServicesCredentials(base_url, client_id, Path(private_key or "").read_bytes(),
                                          scope=scope, kid=key_id)
    except ValueError as exc:
        raise click.UsageError(f"--private-key: {exc}") from exc
