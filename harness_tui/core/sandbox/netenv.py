"""What a sandboxed command's network needs from its command line and environment: the
bridge's argv (``bridge.py``) and the proxy variables pointing at the bridge's ports.

Composed by the caller that builds the bubblewrap command::

    bwrap ... --bind FOLDER FOLDER ... -- \\
        *bridge_argv(sys.executable, [(HTTP_PORT, http_path), (SOCKS_PORT, socks_path)],
                     seccomp_file, argv)

with ``proxy_env(HTTP_PORT, SOCKS_PORT)`` added to the command's environment. The
ports are on the sandbox's own loopback (its network namespace), so fixed numbers do
not collide with the host's.
"""

from __future__ import annotations

from pathlib import Path

#: The bridge script; it runs inside the sandbox without harness_tui on its path.
BRIDGE = Path(__file__).with_name("bridge.py")
#: Default ports inside the sandbox (the usual HTTP proxy and SOCKS ports).
HTTP_PORT = 3128
SOCKS_PORT = 1080
NO_PROXY = "localhost,127.0.0.1,::1"


def bridge_argv(
    python: str,
    listens: list[tuple[int, str]],
    seccomp_file: str | None,
    argv: list[str],
    *,
    script: str | None = None,
) -> list[str]:
    """``python -I -S bridge.py --listen PORT=PATH ... [--seccomp FILE] -- argv...``:
    isolated mode, no ``site``, so the bridge starts fast and nothing of the user's
    environment (``PYTHONPATH``, a ``sitecustomize``) runs in it. ``script``: a copy of
    ``bridge.py`` to run instead of the package's own."""
    out = [python, "-I", "-S", script or str(BRIDGE)]
    for port, path in listens:
        out += ["--listen", f"{port}={path}"]
    if seccomp_file is not None:
        out += ["--seccomp", seccomp_file]
    return [*out, "--", *argv]


def proxy_env(http_port: int = HTTP_PORT, socks_port: int = SOCKS_PORT) -> dict[str, str]:
    """The variables that send HTTP(S) clients through the bridge's HTTP port and the
    rest (``ALL_PROXY``) through its SOCKS port, with host names resolved by the proxy
    (``socks5h``: the sandbox has no DNS)."""
    http = f"http://127.0.0.1:{http_port}"
    socks = f"socks5h://127.0.0.1:{socks_port}"
    env = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY"):
        env[name] = env[name.lower()] = http
    env["ALL_PROXY"] = env["all_proxy"] = socks
    env["NO_PROXY"] = env["no_proxy"] = NO_PROXY
    return env
