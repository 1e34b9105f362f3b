"""Download Japan's HS x country release files from e-Stat into labelled release folders.

`estat_pages` reads the site's pages (the only module that knows their markup), `http` is the
polite client, `manifest` is the record kept in each release folder, and `fetcher` plans and
carries out a fetch. No module here imports Dagster or writes DuckDB.
"""
