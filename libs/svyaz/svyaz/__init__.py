"""Platform code shared by every Svyaz service. No business rules live here."""
