#!/usr/bin/env python3
"""Which b-tree each page in SQLite WAL files belongs to.

Usage: wal_pages.py DATABASE WAL [WAL ...]

DATABASE is a copy of the store taken after the load (`hookbox-bench
--keep-db DIR`); each WAL is a copy of its `-wal` file taken during the
load. Frames whose salts match their file's header are counted (the rest
are left over from before the log was restarted), each under the b-tree
that owns its page in DATABASE (SQLite's `dbstat`; pages do not move
between b-trees while rows are only inserted). Prints each b-tree's frames
and share: multiplied by the WAL bytes per row the bench printed, that is
what each index, table and counter costs a stored row.
"""

import collections
import sqlite3
import struct
import sys


def owners(database):
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    return dict((page, name) for name, page in db.execute("SELECT name, pageno FROM dbstat"))


def frames(path):
    """The page numbers of a WAL file's valid frames, and its commits."""
    data = open(path, "rb").read()
    if len(data) < 32:
        return [], 0
    page_size, _, salt1, salt2 = struct.unpack(">IIII", data[8:24])
    pages, commits, offset = [], 0, 32
    while offset + 24 + page_size <= len(data):
        page, commit, s1, s2 = struct.unpack(">IIII", data[offset : offset + 16])
        if (s1, s2) != (salt1, salt2):
            break
        pages.append(page)
        commits += commit != 0
        offset += 24 + page_size
    return pages, commits


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    owner = owners(argv[1])
    counts, total, commits = collections.Counter(), 0, 0
    for path in argv[2:]:
        pages, n = frames(path)
        counts.update(owner.get(p, "(free or new)") for p in pages)
        total, commits = total + len(pages), commits + n
    print(f"{total} frames in {commits} commits")
    for name, n in counts.most_common():
        print(f"{name:32} {n:8} {100 * n / max(total, 1):6.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
