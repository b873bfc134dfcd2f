"""Run trtexec: ``trtexec(args, ...) -> Run`` on the Docker, local or replay backend.

``choose_backend()`` says which backend can run for real here (the notebooks use it and say so).
Backends live in docker.py, local.py and replay.py behind the one-method interface of base.py;
the engine and timing caches in cache.py.
"""

from .invoke import choose_backend, trtexec

__all__ = ["trtexec", "choose_backend"]
