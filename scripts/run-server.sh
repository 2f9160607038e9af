#!/bin/sh
# `npm start`: runs the compiled server (dist/server/main.js) with the process settings its memory
# figures are measured with (docs/production.md, "Memory"). Arguments go to the server.
#
# MALLOC_MMAP_THRESHOLD_=1048576: glibc gives every allocation of 1 MiB or more (decoded frames:
#   1.4 MB at 1280x720) its own mapping and unmaps it when it is freed. By default glibc raises
#   that threshold to the size of the first such block freed and serves later ones from its heap,
#   which it does not shrink: after a burst (a stalled encoder, a CPU stall) the frames' memory
#   stayed in the server's RSS, ~40 MB per stream. The server does not pass it on to its ffmpeg
#   children (server/pipeline/ffmpeg-process.ts): they allocate a packet per frame.
# --max-semi-space-size=4: the main thread's young generation stops at 2 x 4 MB instead of growing
#   to 2 x 16 MB (32 MB of RSS); its garbage is short-lived, so scavenges stay cheap.
# A MALLOC_MMAP_THRESHOLD_ already in the environment is kept. For other node flags, run
# `node <flags> dist/server/main.js` directly.
set -e
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-1048576}"
exec node --max-semi-space-size=4 "$(dirname "$0")/../dist/server/main.js" "$@"
