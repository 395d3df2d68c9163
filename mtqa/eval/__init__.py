"""Retrieval evaluation: XQuAD-R / MLQA-R (LAReQA) and MIRACL."""
