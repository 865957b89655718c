"""jupyter_server extension: the REST API behind JupyterLab's Experiments sidebar.

``load_jupyter_server_extension(server_app)`` resolves settings (``ServerConfig.store_url`` > environment >
``[tool.jupyter-mlops]`` in the pyproject above the server's root dir > the project's ``.mlops/mlops.db``), builds
one :class:`~jupyter_mlops.server.service.MlopsService` and installs the handlers of
:mod:`jupyter_mlops.server.handlers` under ``<base_url>/jupyter-mlops/api/``.

Configure with ``jupyter lab --MlopsServerConfig.store_url=postgresql+psycopg://...`` or in
``jupyter_server_config.py``: ``c.MlopsServerConfig.store_url = "..."``.
"""

from __future__ import annotations

from typing import Any

from traitlets import Integer, Unicode
from traitlets.config import Configurable

from jupyter_mlops.config import load_settings
from jupyter_mlops.errors import MlopsError


class MlopsServerConfig(Configurable):
    """Options of the jupyter_mlops server extension (config section ``MlopsServerConfig``)."""

    store_url = Unicode(
        "",
        config=True,
        help="Store URL (sqlite:///... or postgresql+psycopg://...); default: the project store of the root dir.",
    )
    blobs_url = Unicode("", config=True,
                        help="Blob store folder or fsspec URL (s3://bucket/prefix); default: beside the SQLite file.")
    workers = Integer(4, min=1, max=64, config=True, help="Threads for blocking store calls.")


#: The name the architecture notes use; the config section users write is ``MlopsServerConfig``.
ServerConfig = MlopsServerConfig


def load_jupyter_server_extension(server_app: Any) -> None:
    """Open the store once and register the REST handlers (called by ``jupyter_mlops._load_jupyter_server_extension``).

    Args:
        server_app: the running ``jupyter_server.serverapp.ServerApp``.
    """
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.server.handlers import setup_handlers
    from jupyter_mlops.server.service import MlopsService
    from jupyter_mlops.store.engine import redact_url

    config = ServerConfig(config=server_app.config)
    settings = load_settings(store_url=config.store_url or None, blobs_url=config.blobs_url or None,
                             start=server_app.root_dir)
    service = MlopsService(Workspace.from_settings(settings), workers=config.workers)
    if service.store_exists():
        try:
            service.get_store()
        except MlopsError as exc:
            # The server must still start; every API call then answers 503 with the same one-line message.
            server_app.log.warning("jupyter_mlops: store unavailable: %s", exc.message)
    setup_handlers(server_app.web_app, service)
    server_app.log.info("jupyter_mlops: Experiments API on %s", redact_url(settings.store_url))
