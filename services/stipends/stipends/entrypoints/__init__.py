"""The stipends service's entrypoints beside `service.py`'s, a class per area of
work (today: payouts); `stipends.service.StipendsService` composes them and declares
the dependencies they share."""
