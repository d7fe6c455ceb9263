"""The Bash sandbox: commands confined by bubblewrap (Linux), a network allow-list
enforced by a proxy on the host, and unix sockets blocked by a seccomp filter."""
