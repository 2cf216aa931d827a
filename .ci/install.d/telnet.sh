# Telnet chat tests: Debian's telnet client driven in tmux, and telnetlib3's client.
APT_PACKAGES="$APT_PACKAGES inetutils-telnet tmux"
PIP_PACKAGES="${PIP_PACKAGES:-} telnetlib3"
