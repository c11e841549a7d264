"""Outside formats, translated at the edge into the same service calls the API makes."""
