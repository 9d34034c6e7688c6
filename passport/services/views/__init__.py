"""Read models for the HTML pages: what a page shows, gathered in one place."""
