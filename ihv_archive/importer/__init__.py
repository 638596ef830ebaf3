"""The importer: scraped iHV listing pages -> dated, tagged, deduplicated Markdown posts.

It shares nothing with the site builder but the post file format (shared/DESIGN.md): it
never imports the builder, and the builder never imports it.
"""
