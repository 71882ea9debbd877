"""Fake vendor APIs for the connector tests: real HTTP servers on 127.0.0.1 serving one seeded,
vendor-neutral day (scenario.py) in each vendor's own JSON shapes, with an injected clock, a request
log and error injection (base.py). Each fake is written from the vendor's documentation, not from
chalkwall's connector for it, so that the two do not share a misreading."""
