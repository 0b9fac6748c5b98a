"""Folium page builders: each returns a ``folium.Map``; routes render them."""
