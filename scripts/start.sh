#!/bin/sh
# `npm start`: runs the built server with glibc's allocator and V8's heap tuned for sharp/libvips.
#
# libvips decodes and encodes on many threads; by default glibc gives them up to 8 malloc arenas
# per core and, once a large buffer has been freed, raises its mmap threshold (up to 32 MB), so
# later multi-megabyte pixel buffers come from those arenas and their freed pages are rarely
# handed back. Peak RSS under ten concurrent 20 MB uploads (bench/upload.ts, 2 cores), measured
# over 15 runs when these settings were chosen, before the V8 setting below: 345-418 MB with
# glibc's defaults, 358-421 MB with jemalloc preloaded, 271-354 MB with two arenas and a fixed
# 1 MB mmap threshold (big buffers are mmapped and unmapped on free), at no measurable cost in
# upload throughput. With both settings of this script: 321-376 MB over 20 runs. Other C
# libraries (musl, macOS) ignore both variables, and values already set in the environment win.
#
# The threshold was later raised to 4 MB: at 1 MB every buffer of a typical image (a 2.5 MB PNG
# render, its 3 MB of decoded pixels) was mapped, faulted in page by page and unmapped again on
# each upload. The 1024x1024 render over HTTP (the seed bench's first row), five runs of 25
# uploads each, alternating: p50 99-104 ms at 1 MB, 78-89 ms at 4 MB, 99 ms at 16 MB. Peak RSS
# under ten 20 MB uploads stayed 310-323 MB (3 runs), 339 MB after 5,000 uploads; buffers of
# 20 MB uploads are still mapped and returned.
#
# MALLOC_TRIM_THRESHOLD_=8 MB: setting the mmap threshold also fixes glibc's trim threshold at
# its 128 KB default (both stop adapting), so after every image the heap's free top was handed
# back to the system and faulted in again, page by page, for the next one. With 8 MB kept, the
# five images of the upload bench, processed in process with the script's settings, three runs
# each, alternating: 109 to 111 ms in all against 112 to 124 without (the render 26.8 against 28
# to 32 ms); 32 MB saved no more.
#
# --initial-old-space-size=96 (V8_INITIAL_OLD_SPACE_MB): V8 counts the Buffers sharp returns
# (decoded pixels, encodes, thumbnails: about 3 MB per photo) against its old-generation limit.
# With the server's 28 MB live heap the default limit leaves about 20 MB of room, so every fifth
# or sixth upload started a full mark-compact of the whole heap, about 25 ms of main-thread time
# each, plus the work of V8's helper threads. Starting the limit at 96 MB, those Buffers die in
# cheap young-generation collections instead. --trace-gc over 410 uploads at 2 in flight, three
# runs each, alternating: 67-88 mark-compacts without the flag, 10 with it; server CPU per upload
# (user + system) 101-105 ms without, 93-94 ms with. The cost is memory: dead Buffers wait longer
# for a full collection. 64 MB saved too little (31 mark-compacts in 310 uploads); 128 MB saved a
# little more CPU, but in the one run that measured it, a burst of ten 20 MB uploads on a server
# that had taken 5,000 peaked at 413 MB, over the 400 MB target (bench/upload.ts measures that
# burst).
#
# `exec` replaces this shell, so the server keeps this process id and receives signals directly.
# NODE picks the node binary (the benchmark passes its own); otherwise the one on PATH.
: "${MALLOC_ARENA_MAX:=2}"
: "${MALLOC_MMAP_THRESHOLD_:=4194304}"
: "${MALLOC_TRIM_THRESHOLD_:=8388608}"
export MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_ MALLOC_TRIM_THRESHOLD_
: "${V8_INITIAL_OLD_SPACE_MB:=96}"
case "$V8_INITIAL_OLD_SPACE_MB" in
  *[!0-9]*)
    echo "Invalid configuration: V8_INITIAL_OLD_SPACE_MB=\"$V8_INITIAL_OLD_SPACE_MB\": expected a whole number of megabytes" >&2
    exit 78
    ;;
esac
exec "${NODE:-node}" --initial-old-space-size="$V8_INITIAL_OLD_SPACE_MB" "$(dirname "$0")/../dist/src/main.js" "$@"
