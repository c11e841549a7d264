"""Outside formats, translated at the edge into the service calls the API makes (STYLE habit 10)."""
