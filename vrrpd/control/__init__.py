"""The control socket: JSON lines on a unix socket."""
