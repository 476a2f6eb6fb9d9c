"""``python -m entrypoints``: the same as the ``dealbooks`` command."""

from entrypoints.cli import main

raise SystemExit(main())
