#!/bin/sh
# Loads a 256 MiB search index into memory in one piece: dd allocates a 256 MiB buffer and fills
# it from /dev/zero, touching every page, so the process really holds that much memory.
#
# Under the Docker runtime, limits.memory (64m) is a cgroup limit: the kernel OOM-kills dd, the
# step exits 137 and the container reports OOMKilled. A runtime that limits address space instead
# (ulimit -v) makes the allocation fail up front ("dd: out of memory" / "memory exhausted").
# Either way the step fails for lack of memory. If the allocation succeeds, the runtime did not
# apply the limit at all, and the step says so rather than passing.
set -eu

echo "load-index: loading a 256 MiB index (memory limit for this run: 64m)"
dd if=/dev/zero of=/dev/null bs=268435456 count=1
echo "load-index: loaded 256 MiB although the run is limited to 64m: limits.memory was not enforced" >&2
exit 3
