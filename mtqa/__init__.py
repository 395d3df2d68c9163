"""mtqa: parallel multilingual QA data from English QA datasets, for hybrid batch training."""

__version__ = "0.1.0"
