"""Entry points for spark-submit: distributed snapshots and materialising tables back into the lake."""
