#!/bin/sh
# `npm start`: runs the built server with glibc's allocator tuned for sharp/libvips.
#
# libvips decodes and encodes on many threads; by default glibc gives them up to 8 malloc arenas
# per core and, once a large buffer has been freed, raises its mmap threshold (up to 32 MB), so
# later multi-megabyte pixel buffers come from those arenas and their freed pages are rarely
# handed back. Peak RSS under ten concurrent 20 MB uploads (bench/upload.ts, 2 cores, 15 runs):
# 345-418 MB with glibc's defaults, 358-421 MB with jemalloc preloaded, 271-354 MB with two
# arenas and a fixed 1 MB mmap threshold (big buffers are mmapped and unmapped on free), at no
# measurable cost in upload throughput. Other C libraries (musl, macOS) ignore both variables,
# and values already set in the environment win.
#
# `exec` replaces this shell, so the server keeps this process id and receives signals directly.
# NODE picks the node binary (the benchmark passes its own); otherwise the one on PATH.
: "${MALLOC_ARENA_MAX:=2}"
: "${MALLOC_MMAP_THRESHOLD_:=1048576}"
export MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_
exec "${NODE:-node}" "$(dirname "$0")/../dist/src/main.js" "$@"
