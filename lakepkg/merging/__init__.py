"""Clone a version, change it, merge it back: a three-way, row-level merge of package versions.

One job per module, from the bottom up:

* :mod:`~lakepkg.merging.located` — rows of chosen fragments read through the read plan, with
  where each row lives (fragment, position in its stored file);
* :mod:`~lakepkg.merging.cells` — exact cell equality (NULL is a value) and keys compared as the
  source compares them (CHAR padding, recorded collations);
* :mod:`~lakepkg.merging.changes` — what one side changed against the base: the fragments that
  differ, read; the rest skipped;
* :mod:`~lakepkg.merging.sides` — the candidate rows of the three versions of a table, in one schema;
* :mod:`~lakepkg.merging.outcome` — what merging one table gives (and which side's fragments it keeps);
* :mod:`~lakepkg.merging.history` — the merge base, from ``parent``, ``derived_from`` and earlier merges;
* :mod:`~lakepkg.merging.schema` — the merged schema of a table (columns added, dropped, retyped);
* :mod:`~lakepkg.merging.keyed` — a keyed table merged by key and cell (Dolt's rules);
* :mod:`~lakepkg.merging.unkeyed` — a table without a key merged as a multiset of whole rows;
* :mod:`~lakepkg.merging.files` — plain files merged by logical key and object hash;
* :mod:`~lakepkg.merging.conflicts` — conflicts: per-table summaries and the conflicts package;
* :mod:`~lakepkg.merging.result` — the merged table nodes (reused fragments, deletion vectors,
  new fragments) and the one publish;
* :mod:`~lakepkg.merging.clone` — ``lakepkg clone``;
* :mod:`~lakepkg.merging.three_way` — ``lakepkg merge``: the steps above in order, and its result.

docs/merge.md has the rules with examples. (The folder is ``merging``, not ``merge``: ``lakepkg.merge``
is the verb of :mod:`lakepkg.api`.)
"""
