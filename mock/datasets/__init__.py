"""Datasets on disk and synthetic ones: the dataset directory format and the generator."""
