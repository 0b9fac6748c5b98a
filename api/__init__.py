"""Glue: the FastAPI app, Folium pages, the typer CLI."""
