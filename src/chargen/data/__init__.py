"""Clean text to ids: the vocabulary, the prepared HDF5 file, windows and streams."""
