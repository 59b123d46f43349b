"""The ``ziggy`` command line: a thin layer over the ``ziggy_migrate`` library.

One module per command group (``auth``, ``flow``, ``demo``), shared options in
``options.py``, credentials in ``credentials.py``, profiles in ``profiles.py``, output
rules in ``output.py``, the multi-value argv rewrite in ``_argv.py``, and one entry
point, ``main.main()`` (the ``ziggy`` and ``ziggy-migrate`` console scripts), which alone
catches errors and maps them to a JSON answer and an exit code.
"""
