# ftp: curl, lftp and python3 (ftplib) for tests/ftp_*.rs; vsftpd, pyftpdlib, bc and
# util-linux (taskset) for benches/ftp_retr.sh.
APT_PACKAGES="$APT_PACKAGES lftp curl python3 vsftpd bc util-linux"
PIP_PACKAGES="${PIP_PACKAGES:-} pyftpdlib"
