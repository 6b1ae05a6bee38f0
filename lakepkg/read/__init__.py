"""Reading a version: Package/Table/Fragment, filters and pruning, the read plan, diff."""
