"""The one format version of what `check` keeps: the facts store (store.py), the
per-module results record (results.py) and the whole-run replay (replay.py, read before
anything else by fast_replay.py). A file of another format is a miss. Standard library
only, and nothing else here: the replay's first reader imports it before click.

9: results, partial record and its deltas in one file; replay and fast replay in one
file, found from any directory of the project.
10: the facts store is one SQLite file; all three kinds share this number.
11: the results record keeps what the fix plan starts from at each file with findings.
"""

FORMAT = 11
