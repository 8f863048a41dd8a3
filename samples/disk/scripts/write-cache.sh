#!/bin/sh
# Writes a 64 MiB build cache to a disk that has no free space left.
#
# The "disk" is /dev/full, a device on which every write fails with ENOSPC ("No space left on
# device"), exactly what a full filesystem returns. That keeps the scenario real (the error comes
# from the kernel, not from an echo) and finite and safe in every runtime: nothing is ever stored,
# so neither the Docker runtime's container nor the shell runtime's host can actually fill up.
# ulimit -f is a second guard: no file this step writes can grow past 8 MiB, so even a runtime
# without /dev/full could not fill the host's disk through this script.
set -eu
ulimit -f 16384 # in 512-byte blocks: 8 MiB

cache=/dev/full
if [ ! -c "$cache" ]; then
	echo "write-cache: $cache is not a character device; refusing to write to a real disk" >&2
	exit 2
fi

echo "write-cache: writing 64 MiB of build cache to $cache"
dd if=/dev/zero of="$cache" bs=65536 count=1024
echo "write-cache: done"
