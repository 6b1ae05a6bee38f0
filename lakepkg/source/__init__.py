"""What sources hand the core: the TableSnapshot description, connector discovery, the local-folder source."""
