"""The warehouse file: schema and SQL, supersession bookkeeping, and publishing to readers.

`warehouse` runs the SQL under sql/ (one statement per file), `incremental` keeps derived
tables equal to a full build while recomputing only what changed, `publish` swaps a finished
working copy in for readers, and `freshness` tells whether a build has anything to do.
"""
