"""The ``roundtable`` command: ``up``, ``token``, ``issuer``, ``asyncapi``, ``nats-config``,
``nats-env``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _data_dir() -> Path:
    return Path(os.environ.get("ROUNDTABLE_DATA_DIR", ".data")).resolve()


def _up(args: Sequence[str]) -> int:
    from roundtable_dev.local.supervisor import SERVICES, SystemConfig, up

    parser = argparse.ArgumentParser(
        prog="roundtable up", description="Run the whole system locally."
    )
    parser.add_argument("--data-dir", type=Path, default=_data_dir())
    parser.add_argument("--nats-port", type=int, default=4222)
    parser.add_argument("--mongo-port", type=int, default=27017)
    parser.add_argument("--issuer-port", type=int, default=8000)
    parser.add_argument("--smtp-port", type=int, default=1025, help="the local mail catcher's SMTP")
    parser.add_argument("--mail-ui-port", type=int, default=8025, help="where to read caught mail")
    parser.add_argument(
        "--service-port",
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="move one service off its default port (repeatable)",
    )
    options = parser.parse_args(args)
    ports = dict(SERVICES)
    for assignment in options.service_port:
        name, _, port = assignment.partition("=")
        if name not in ports or not port.isdigit():
            parser.error(f"--service-port expects NAME=PORT with NAME in {sorted(ports)}")
        ports[name] = int(port)
    config = SystemConfig(
        data_dir=options.data_dir.resolve(),
        nats_port=options.nats_port,
        mongo_port=options.mongo_port,
        issuer_port=options.issuer_port,
        smtp_port=options.smtp_port,
        mail_ui_port=options.mail_ui_port,
        service_ports=ports,
    )
    return up(config)


def _issuer(args: Sequence[str]) -> int:
    import uvicorn

    from roundtable_dev.local.dev_issuer import DevIssuer

    parser = argparse.ArgumentParser(prog="roundtable issuer", description="Serve the dev JWKS.")
    parser.add_argument("--data-dir", type=Path, default=_data_dir())
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 in a container)")
    parser.add_argument(
        "--issuer-url", help="the `iss` of minted tokens; default http://127.0.0.1:PORT"
    )
    options = parser.parse_args(args)
    issuer_url = options.issuer_url or f"http://127.0.0.1:{options.port}"
    issuer = DevIssuer(options.data_dir, issuer_url)
    uvicorn.run(issuer.jwks_app(), host=options.host, port=options.port, log_level="warning")
    return 0


def _token(args: Sequence[str]) -> int:
    from roundtable_dev.local.dev_issuer import token_command

    return token_command(list(args))


def _asyncapi(args: Sequence[str]) -> int:
    from roundtable_shared.events.asyncapi import main as asyncapi_main

    return asyncapi_main(list(args))


def _nats_config(args: Sequence[str]) -> int:
    from roundtable_dev.local.nats_auth import deployed_server_config

    parser = argparse.ArgumentParser(
        prog="roundtable nats-config",
        description="Print nats-server's users and permissions, passwords from the environment.",
    )
    parser.add_argument("--namespace", default="", help="prefix of subjects and streams")
    options = parser.parse_args(args)
    sys.stdout.write(deployed_server_config(options.namespace))
    return 0


def _nats_env(args: Sequence[str]) -> int:
    from roundtable_dev.local.nats_auth import NatsCredentials, password_variable

    parser = argparse.ArgumentParser(
        prog="roundtable nats-env",
        description="Print every NATS user's password as VARIABLE=value lines (a compose .env), "
        "from the data directory's nats-credentials.json (made if missing).",
    )
    parser.add_argument("--data-dir", type=Path, default=_data_dir())
    options = parser.parse_args(args)
    credentials = NatsCredentials.load_or_create(options.data_dir)
    for user, password in credentials.passwords.items():
        print(f"{password_variable(user)}={password}")
    return 0


COMMANDS = {
    "up": _up,
    "token": _token,
    "issuer": _issuer,
    "asyncapi": _asyncapi,
    "nats-config": _nats_config,
    "nats-env": _nats_env,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: roundtable {{{','.join(COMMANDS)}}} [options]", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
