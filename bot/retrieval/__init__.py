"""Retrieval: read the owner's files, cut them into cited chunks, embed, index and search.

    parsing    bytes of one file -> ParsedDoc (blocks of text with page / section), with limits
    sandbox    runs parsing in a worker process bounded in time and memory
    chunking   blocks -> chunks of ~1,000 characters that keep page and section
    embedding  the Embedder protocol and the offline ONNX MiniLM embedder
    index      the vector index (chromadb, embedded or a server); we hand it the vectors
    lexical    BM25 over the chunk texts (bm25s)
    search     dense + BM25, fused

Nothing here touches SQLite or Telegram: bot.services.knowledge.service ties it to storage.
"""
