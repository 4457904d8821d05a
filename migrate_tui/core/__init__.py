"""The ground floor: file-system I/O, lossless JSON, ids, the workspace layout, the entry
field list and the error hierarchy.  Imports nothing from the rest of the package."""
