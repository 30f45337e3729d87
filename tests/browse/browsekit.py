"""Shared constants of the entity-browser tests."""

# the Accept header Chromium sends for a page
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
