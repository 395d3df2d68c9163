"""Pipeline stages: source → segment → dedup → translate → assemble → filter → write."""
