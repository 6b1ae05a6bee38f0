"""The catalog's pages, one module each: ``page(catalog, request, ...)`` returns the response."""
