"""Static pages: the wall screen and the staff pages."""
