"""The fictional demo district (渝星区): registry, families, complaints, walking network.

Never imported by production code: only `flask --app app demo-data`, `flask --app app maps
demo-network`, the tests and the benchmarks use it.
"""
