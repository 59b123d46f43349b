"""``python -m ziggy_migrate_cli``: the same as the ``ziggy`` command."""

from .main import main

raise SystemExit(main())
