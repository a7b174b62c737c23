"""The naive alternative to the fix plan, for comparison: wrap only each root cause
(the sink-entering site the shortest chains show) and check again.

    python bench/apply_root_causes.py TREE_COPY PACKAGE     # writes into TREE_COPY
"""

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apply_plan import check, counts, wrap
tree, package = Path(sys.argv[1]), sys.argv[2]
before = check(tree, package)
by_file = collections.defaultdict(list)
for cause in before["root_causes"]:
    by_file[cause["path"]].append(cause["line"])
for path, lines in by_file.items():
    wrap(tree / path, lines)
after = check(tree, package)
print(f"root causes only: before {len(before['findings'])}, {len(before['root_causes'])} root-cause edits, after {len(after['findings'])} {dict(counts(after))}")
