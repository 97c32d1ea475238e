"""The community programs' use cases (domain/community): the market, volunteers, job fairs, renovation,
the party grid, their CSV files; `service.Community` holds them all."""
