"""Community programs on the street's base (the seed's "digital life", "digital economy" and "smart party
building"): the 静·邻一家 convenience market, volunteer projects, job fairs, old-housing renovation and the
party-building grid. Pure: no I/O, no framework."""
