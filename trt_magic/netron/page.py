"""Netron's packaged page, made private: no telemetry, no consent or update dialog, no link out.

Netron 9.3.3 (browser.js, ``Host.view``) runs, before showing a model: ``age()`` (an "update"
dialog once the build is 180 days old), ``consent()`` (a request to ``https://ipinfo.io/json``,
then a "This app uses cookies" dialog over the graph until Accept) and ``telemetry()`` (Google
Analytics beacons with the page URL, the model's format, producer and node count). It has no
switch for any of them: the cookie it sets on Accept only answers the question. So the page
gets a small module of ours (:data:`SHIM`) that replaces ``Host.view`` (keeping only what it
must do: remember the view), silences ``event``/``exception`` (the telemetry calls) and keeps
``openURL`` (the view never navigates away). The Content-Security-Policy (:data:`CSP`) allows nothing
but the page's own origin, so a request to anywhere else is refused by the browser even if a
later Netron calls out in a new way. Links to the internet in the page lose their ``href``.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

#: the view's server sends this with every answer
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self'; frame-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)

#: the Netron whose browser.js this module was written against (tests check the installed one)
TESTED_NETRON = "9.3.3"
SHIM_NAME = "trt-magic-netron.js"
LOADED = "loaded"  #: the page POSTs here (under its token) and posts this to its parent

#: loaded by the page as a module: runs after index.js, before the window's load event
SHIM = """\
// trt_magic: Netron without telemetry, consent or update dialogs, and no navigation away.
const hooks = window.exports;
const preload = hooks.preload;
const sameOrigin = (url) => {
    try {
        return new URL(url, window.location.href).origin === window.location.origin;
    } catch {
        return false;
    }
};
const quiet = (host) => {
    // Host.view runs age() (update dialog), consent() (ipinfo.io, then a cookie dialog) and
    // telemetry() (Google Analytics); View.start needs only this._view from it.
    host.view = async function (view) {
        this._view = view;
    };
    host.event = () => {};
    host.exception = () => {};
    // "Report Issue", documentation and update links: the view never navigates away
    host.openURL = () => {};
};
// a link out of the page (e.g. in an operator's documentation) does not navigate
const stay = (event) => {
    const link = event.target && event.target.closest ? event.target.closest('a[href]') : null;
    if (link && !sameOrigin(link.href)) {
        event.preventDefault();
    }
};
document.addEventListener('click', stay, true);
document.addEventListener('auxclick', stay, true);
hooks.preload = (callback) => preload((value, error) => {
    try {
        quiet(hooks.browser.Host.prototype);
    } catch (problem) {
        // another Netron: its page still loads, and the policy still refuses other origins
        window.console.warn('trt_magic could not quiet this Netron:', problem);
    }
    callback(value, error);
});
// tell the kernel and the notebook that this page loaded (the notebook hides its warning)
fetch('__LOADED__', { method: 'POST', cache: 'no-store' }).catch(() => {});
if (window.parent !== window) {
    window.parent.postMessage({ trtMagicNetron: '__LOADED__' }, '*');
}
""".replace("__LOADED__", LOADED)

_VERSION_META = re.compile(r'<meta name="version" content="[^"]*">')
_DATE_META = re.compile(r'<meta name="date" content="[^"]*">\n?')
_OUTWARD_HREF = re.compile(r'\s+href="(?:https?:)?//[^"]*"')
_INDEX_SCRIPT = '<script type="text/javascript" src="index.js"></script>'


def netron_page(index_html: str, file_name: str, netron_version: str) -> bytes:
    """Netron's ``index.html`` for one model: names the file (never its folder), loads our shim.

    Raises:
        ValueError: the page does not look like the Netron page this was written for.
    """
    if not _VERSION_META.search(index_html) or _INDEX_SCRIPT not in index_html:
        raise ValueError("Netron's index.html has changed: no version meta or index.js script")
    name = html.escape(file_name, quote=True)
    meta = "\n".join(
        [
            '<meta name="type" content="Python">',
            f'<meta name="version" content="{html.escape(netron_version, quote=True)}">',
            f'<meta name="file" content="data/{html.escape(quote(file_name), quote=True)}">',
            f'<meta name="name" content="{name}">',
            f'<meta name="identifier" content="{name}">',
        ]
    )
    page = _VERSION_META.sub(lambda _: meta, index_html, count=1)
    page = _DATE_META.sub("", page)  # no build date: Netron's "please update" never triggers
    page = _OUTWARD_HREF.sub("", page)
    shim = f'{_INDEX_SCRIPT}\n<script type="module" src="{SHIM_NAME}"></script>'
    page = page.replace(_INDEX_SCRIPT, shim, 1)
    return page.encode("utf-8")
