"""Embeddings and FAISS indexes: text, images and sample renders."""
