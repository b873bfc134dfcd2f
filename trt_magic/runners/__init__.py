"""Run trtexec: ``trtexec(args, ...) -> Run`` on the Docker, local or replay backend.

``choose_backend()`` says which backend can run for real here (the notebooks use it and say so);
the default backend "auto" is chosen the same way before anything is pulled (choice.py).
Backends live in docker.py, local.py and replay.py behind the one-method interface of base.py;
the engine and timing caches in cache.py.
"""

from .choice import choose_backend
from .invoke import trtexec

__all__ = ["trtexec", "choose_backend"]
