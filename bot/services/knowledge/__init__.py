"""The owner's documents: ingest, the derived indexes, search with sources."""
