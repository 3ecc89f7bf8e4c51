"""Run the `dialer` command with tracemalloc on, for finding where its memory goes.

    python bench/engine_memprobe.py OUTFILE -C dialer.conf --service

Same arguments as `python -m dialer.cli` after OUTFILE. On SIGUSR1 it writes to OUTFILE:
with OUTFILE ending in .trace (tracemalloc on from the start) the top allocation sites,
grouped by line and by traceback; otherwise pymalloc's arena statistics and the VmRSS before
and after glibc's malloc_trim(0). Used by `engine_bench.py memory --trace` / `--allocators`;
tracemalloc itself costs memory and time, so the RSS that counts is measured without it.
"""
import linecache
import signal
import sys
import threading
import tracemalloc


def dump(path):
    snap = tracemalloc.take_snapshot().filter_traces((
        tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, linecache.__file__)))
    stats = snap.statistics("lineno")
    total = sum(s.size for s in stats)
    with open(path, "w") as out:
        out.write(f"traced Python memory: {total / 1e6:.1f} MB in {sum(s.count for s in stats)} blocks\n\n")
        for s in stats[:40]:
            frame = s.traceback[0]
            out.write(f"{s.size / 1e6:8.2f} MB {s.count:8d} blocks  {frame.filename}:{frame.lineno}  "
                      f"{linecache.getline(frame.filename, frame.lineno).strip()}\n")
        out.write("\nby file:\n")
        for s in snap.statistics("filename")[:20]:
            out.write(f"{s.size / 1e6:8.2f} MB {s.count:8d} blocks  {s.traceback[0].filename}\n")
        out.write("\nbiggest sites with their callers:\n")
        for s in snap.statistics("traceback")[:8]:
            out.write(f"\n{s.size / 1e6:.2f} MB in {s.count} blocks\n")
            for line in s.traceback.format(limit=8):
                out.write(line + "\n")


def status_kb(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def allocator_report(path):
    """pymalloc's arena statistics, then how much glibc gives back on malloc_trim(0): tells
    memory still in use from memory freed but kept by the allocators."""
    import ctypes
    import os
    before = status_kb("VmRSS")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        sys._debugmallocstats()      # writes to C stderr
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open(path, "a") as out:
        out.write(f"\nVmRSS before malloc_trim(0): {before} kB, after: {status_kb('VmRSS')} kB\n")


def main():
    path = sys.argv[1]
    sys.argv = ["dialer"] + sys.argv[2:]
    if path.endswith(".trace"):
        tracemalloc.start(8)
        # The dump runs off the signal handler: the engine's own handlers only enqueue.
        signal.signal(signal.SIGUSR1, lambda s, f: threading.Thread(target=dump, args=(path,)).start())
    else:
        signal.signal(signal.SIGUSR1, lambda s, f: threading.Thread(target=allocator_report, args=(path,)).start())
    from dialer import cli
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
