"""The one format version of what `check` keeps besides facts: the per-module results
record (results.py) and the whole-run replay (replay.py, read before anything else by
fast_replay.py). A record of another format is a miss. Standard library only, and
nothing else here: the replay's first reader imports it before click.

9: results, partial record and its deltas in one file; replay and fast replay in one
file, found from any directory of the project.
"""

FORMAT = 9
