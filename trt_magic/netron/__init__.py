"""Netron views served privately by the kernel (see :mod:`.views`, :mod:`.server`, :mod:`.page`)."""

from .urls import view_url
from .views import NetronView, netron_stop, netron_view

__all__ = ["NetronView", "netron_stop", "netron_view", "view_url"]
