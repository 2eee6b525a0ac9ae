"""A worker started afresh by the supervisor, in place of a forked one that died.

``python -m usagekit.mock.server.worker FD``: the supervisor
(:mod:`.supervisor`) keeps no app to fork from, so the new worker builds its
own from the :class:`~.config.ServerConfig` the builder left in
:data:`~.config.CONFIG_ENV` -- with its anchor instant pinned, so it answers
byte for byte as its siblings do -- and serves the listening socket it
inherited as file descriptor ``FD``, taking its share of the connections
(:mod:`.balance`, on the board the builder left in its environment). A
``--data`` dataset is mapped from the columnar cache the builder wrote before
forking, so its columns and scopes are the page cache's one copy here too;
what the worker builds beyond that (the spec, connexion's tables) is its own.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from .balance import Balance
from .board import Board
from .config import ServerConfig
from .run import GracefulServer, build_app, uvicorn_options

__all__ = ["main"]


def main(argv: list[str]) -> None:
    """Serve the socket ``argv[0]`` (a file descriptor) until SIGTERM or SIGINT."""
    (listening,) = argv
    config = ServerConfig.from_env()
    app = build_app(config)
    sock = socket.socket(fileno=int(listening))
    board = Board.from_env()  # its siblings' connection counts, to take its share
    balance = None if board is None else Balance(board)
    server_config = uvicorn.Config(app, **uvicorn_options(config, balance))
    GracefulServer(server_config, balance).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
