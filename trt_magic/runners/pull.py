"""Pull the TensorRT image: its size said first, a progress bar with layer sizes, a clean stop.

A TensorRT image is several GB, so a pull is announced with its size before the first byte when
the registry can be asked (the manifest's layer sizes, with the credentials ``docker login``
stored); the bar shows each layer's size and the total as the daemon reports them; the stop
button (KeyboardInterrupt) or a cancel event closes the pull stream, which makes the daemon
abandon the pull: no half-pulled image is left (the daemon keeps only whole layers, as a cache).
Refusals get the fix: ``unauthorized`` / ``authentication required`` -> the ``docker login``
steps for that registry (NGC: user ``$oauthtoken``, an NGC API key as password); a login made
after the kernel started is picked up (the client re-reads the Docker config once); an
unreachable registry is named as such.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import ImageError

AUTH_WORDS = (
    "unauthorized",
    "authentication required",
    "no basic auth",
    "denied: requested access",
)
UNREACHABLE_WORDS = ("connection refused", "no such host", "i/o timeout", "network is unreachable",
                     "TLS handshake timeout", "dial tcp", "certificate signed by unknown authority")  # fmt: skip


def split_image(image: str) -> tuple[str, str, str]:
    """(registry, repository, tag) of an image name, as Docker reads it."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, name, tag or "latest"
    return "docker.io", name, tag or "latest"


def login_hint(registry: str) -> str:
    """The steps that give the Docker host access to ``registry``."""
    if registry == "nvcr.io":
        return ("log in to NGC once: `docker login nvcr.io` with user `$oauthtoken` and an NGC API key "
                "(https://org.ngc.nvidia.com/setup/api-key) as the password; then run this again")  # fmt: skip
    where = "" if registry == "docker.io" else f" {registry}"
    return (
        f"log in once: `docker login{where}` (your user and password or token); then run this again"
    )


@dataclass
class PullProgress:
    """What the daemon said so far: layer -> (done, total) bytes."""

    image: str
    layers: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    manifest: dict[str, int] = field(default_factory=dict)  # short layer id -> size (registry)

    @property
    def announced(self) -> int | None:
        """The total size from the manifest, when it could be read."""
        return sum(self.manifest.values()) if self.manifest else None

    def feed(self, event: dict) -> None:
        layer, status = event.get("id"), event.get("status", "")
        if not layer or layer == self.image.rsplit(":", 1)[-1]:
            return
        detail = event.get("progressDetail") or {}
        done, total = self.layers.get(layer, (0, self.manifest.get(layer)))
        if status == "Downloading" and detail.get("total"):
            done, total = detail.get("current", done), detail["total"]
        elif status in (
            "Download complete",
            "Pull complete",
            "Already exists",
            "Verifying Checksum",
        ):
            done = total or done
            if status == "Already exists" and total is None:
                total = done = 0  # its size is not said, and nothing is downloaded
        self.layers[layer] = (done, total)

    @property
    def total(self) -> int | None:
        if self.manifest:
            return self.announced
        if self.layers and all(t is not None for _, t in self.layers.values()):
            return sum(t for _, t in self.layers.values())
        return None

    @property
    def done(self) -> int:
        return sum(d for d, _ in self.layers.values())

    def line(self) -> str:
        total = self.total
        share = f" ({100 * self.done / total:.0f} %)" if total else ""
        sizes = ", ".join(
            f"{k[:12]} {_size(t) if t is not None else '?'}" for k, (_, t) in self.layers.items()
        )
        return (f"pulling {self.image}: {_size(self.done)} of {_size(total) if total else '?'}{share}, "
                f"{len(self.layers)} layers [{sizes}]")  # fmt: skip

    def html(self) -> str:
        import html

        total = self.total or 0
        bar = f"<progress value='{self.done}' max='{max(total, 1)}' style='width:24em'></progress>"
        return f"<div class='trt-magic-pull'>{bar} <code>{html.escape(self.line())}</code></div>"


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


class _View:
    """The bar in a notebook (one display, updated), or a printed line every few seconds."""

    def __init__(self, note: Callable[[str], None]):
        self.note = note
        self.handle = None
        self.last = 0.0
        try:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
                from IPython.display import HTML, display

                self._HTML = HTML
                self.handle = display(HTML(""), display_id=True)
        except ImportError:  # pragma: no cover - IPython is a dependency
            pass

    def update(self, progress: PullProgress, final: bool = False) -> None:
        now = time.monotonic()
        if self.handle is not None:
            if final or now - self.last > 0.25:
                self.handle.update(self._HTML(progress.html()))
                self.last = now
        elif final or now - self.last > 3.0:
            self.note(progress.line())
            self.last = now


def manifest_size(client, image: str, timeout: float = 5.0) -> int | None:
    """The image's compressed size from its registry (linux/amd64), before any byte is pulled."""
    layers = manifest_layers(client, image, timeout)
    return sum(layers.values()) if layers else None


def manifest_layers(client, image: str, timeout: float = 5.0) -> dict[str, int]:
    """Short layer id (as the pull stream names it) -> compressed size, from the registry.

    Asks the registry's v2 API with what ``docker login`` stored (basic auth, or the bearer
    token flow NGC and Docker Hub use); empty when the registry cannot be asked from here.
    """
    try:
        import requests
        from docker.auth import resolve_authconfig

        registry, repo, tag = split_image(image)
        host = "registry-1.docker.io" if registry == "docker.io" else registry
        path = repo.split("/", 1)[1] if registry != "docker.io" and "/" in repo else repo
        if registry == "docker.io" and "/" not in path:
            path = f"library/{path}"
        auth = resolve_authconfig(client.api._auth_configs, registry) or {}
        user, password = auth.get("username"), auth.get("password")
        verify = _ca_file(registry)
        accept = ", ".join([
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
        ])  # fmt: skip
        session = requests.Session()
        session.headers["Accept"] = accept

        def get(ref: str):
            url = f"https://{host}/v2/{path}/manifests/{ref}"
            r = session.get(url, timeout=timeout, verify=verify)
            if r.status_code == 401:
                challenge = r.headers.get("WWW-Authenticate", "")
                if challenge.lower().startswith("basic") and user:
                    session.auth = (user, password)
                elif challenge.lower().startswith("bearer"):
                    params = dict(
                        p.split("=", 1) for p in challenge[7:].replace('"', "").split(",")
                    )
                    realm = params.pop("realm")
                    t = requests.get(realm, params=params, timeout=timeout, verify=verify,
                                     auth=(user, password) if user else None)  # fmt: skip
                    t.raise_for_status()
                    token = t.json().get("token") or t.json().get("access_token")
                    session.headers["Authorization"] = f"Bearer {token}"
                r = session.get(url, timeout=timeout, verify=verify)
            r.raise_for_status()
            return r.json()

        doc = get(tag)
        if "manifests" in doc:  # a list: the linux/amd64 entry
            entry = next((m for m in doc["manifests"] if m.get("platform", {}).get("architecture") == "amd64"
                          and m.get("platform", {}).get("os") == "linux"), doc["manifests"][0])  # fmt: skip
            doc = get(entry["digest"])
        return {
            layer["digest"].split(":")[-1][:12]: layer.get("size", 0)
            for layer in doc.get("layers", [])
        }
    except Exception:  # not reachable from here, not a v2 registry, no login: size unknown
        return {}


def _ca_file(registry: str):
    from pathlib import Path

    ca = Path("/etc/docker/certs.d") / registry / "ca.crt"
    return str(ca) if ca.is_file() else True


def pull(
    client,
    image: str,
    note: Callable[[str], None] = print,
    cancel: threading.Event | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> str:
    """Pull ``image`` on ``client``'s Docker host with progress; return its image id.

    Raises:
        ImageError: refused (with the login steps), unreachable, or unknown image.
        KeyboardInterrupt: the stop button: the pull was abandoned, no image was created.
    """
    registry, repo, tag = split_image(image)
    layers = manifest_layers(client, image)
    size = sum(layers.values()) if layers else None
    note(f"image {image} is not on this Docker host: pulling it"
         + (f" ({_size(size)} compressed)" if size else " (size unknown until the layers start)"))  # fmt: skip
    try:
        return _pull_once(client, image, repo, tag, layers, note, cancel, on_event)
    except ImageError as exc:
        if not any(w in (exc.detail or "") for w in AUTH_WORDS):
            raise
        client.api.reload_config()  # a `docker login` made since the kernel started
        return _pull_once(client, image, repo, tag, layers, note, cancel, on_event)


def _pull_once(client, image, repo, tag, layers, note, cancel, on_event) -> str:
    import docker

    progress = PullProgress(image, manifest=layers)
    view = _View(note)
    stream = None
    try:
        stream = client.api.pull(repo, tag=tag, stream=True, decode=True)
        for event in stream:
            if "error" in event:
                raise pull_error(image, event["error"])
            progress.feed(event)
            view.update(progress)
            if on_event is not None:
                on_event(event)
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
        view.update(progress, final=True)
        return client.images.get(image).id
    except KeyboardInterrupt:
        _close(stream)  # the daemon abandons a pull whose client went away
        note(f"pull of {image} stopped: nothing was kept as an image")
        raise
    except docker.errors.APIError as exc:
        raise pull_error(image, str(exc)) from None
    except docker.errors.DockerException as exc:  # the stream broke (daemon gone, network)
        raise pull_error(image, str(exc)) from None
    finally:
        _close(stream)


def _close(stream) -> None:
    if stream is None:
        return
    try:
        stream.close()  # the generator's finally closes the HTTP response
    except Exception:
        pass


def pull_error(image: str, text: str) -> ImageError:
    """The error of a refused or failed pull, with its fix."""
    registry = split_image(image)[0]
    low = text.lower()
    if any(w in low for w in AUTH_WORDS):
        return ImageError(f"the registry {registry} refused to give {image} without a login.",
                          hint=login_hint(registry), detail=text)  # fmt: skip
    if any(w.lower() in low for w in UNREACHABLE_WORDS):
        return ImageError(
            f"the Docker host cannot reach the registry {registry} to pull {image}.",
            hint=f"check that host's network (and proxy) to {registry}; offline, `docker load` a "
            f"saved copy of {image} (`docker save` it where it exists)",
            detail=text,
        )
    if "manifest unknown" in low or "not found" in low:
        return ImageError(f"{registry} has no image {image}.",
                          hint="check the tag against the registry's list (NGC: the TensorRT container's tags page)",
                          detail=text)  # fmt: skip
    return ImageError(f"the image {image} is missing and could not be pulled.",
                      hint=f"`docker pull {image}` on that host shows the same error", detail=text)  # fmt: skip
