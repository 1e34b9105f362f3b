"""Read release files and keep them: find them in the raw folder, parse, validate, load.

`releases` finds release folders and files, `inventory` compares them with what the warehouse
holds, `layouts` is the registry of each reporter's file layouts, `raw_csv` reads one file's
text into typed columns, `validation` is the pandera models that sort rows into facts and
quarantine, `loader` stores one release per transaction, and `reference` loads the project's
reference tables. No module here imports Dagster.
"""
