"""Summarise a `py-spy record -f raw` profile (collapsed stacks) per thread.

    python bench/engine_profile.py PROFILE.txt [--thread MainThread] [--top 25]

Prints, for the chosen thread, the share of its samples spent inside each function
(inclusive) and in the function itself (self), with file:line folded away so a function is
one row. Recorded with --idle, the shares are of wall time (waiting included).
"""
import argparse
import collections
import re
import sys

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def parse(path, thread):
    stacks = collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        head, frames = frames[0], frames[1:]
        if thread and thread not in head:
            continue
        names = []
        for f in frames:
            m = FRAME.match(f)
            names.append(f"{m['func']} ({m['file']})" if m else f)
        stacks[tuple(names)] += int(count)
    return stacks


def by_line(path, thread, func):
    """Samples inside `func`, split by the line of `func` they were on."""
    lines = collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if thread and thread not in stack.split(";")[0]:
            continue
        for f in stack.split(";")[1:]:
            if f.startswith(func + " ("):
                lines[f[len(func) + 2:-1]] += int(count)
                break
    return lines


def summarise(stacks, top):
    total = sum(stacks.values())
    incl, self_ = collections.Counter(), collections.Counter()
    for names, n in stacks.items():
        for name in set(names):
            incl[name] += n
        if names:
            self_[names[-1]] += n
    return total, incl.most_common(top), self_.most_common(top)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("profile")
    ap.add_argument("--thread", default="MainThread", help="substring of the thread label ('' = all)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--by-line", metavar="FUNC", action="append", default=[],
                    help="also split the samples inside FUNC (e.g. ClaimsMixin.record) by its source line")
    a = ap.parse_args()
    total, incl, self_ = summarise(parse(a.profile, a.thread), a.top)
    if not total:
        print("no samples for that thread", file=sys.stderr)
        return 1
    print(f"{total} samples ({a.thread or 'all threads'})")
    print("\ninclusive  function")
    for name, n in incl:
        print(f"{100 * n / total:8.1f}%  {name}")
    print("\nself       function")
    for name, n in self_:
        print(f"{100 * n / total:8.1f}%  {name}")
    for func in a.by_line:
        print(f"\n{func} by line")
        for where, n in sorted(by_line(a.profile, a.thread, func).items()):
            print(f"{100 * n / total:8.1f}%  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
