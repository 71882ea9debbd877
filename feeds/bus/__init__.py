"""The MQTT bus between a hub and its screens: one connection each, the topic tree, the payloads."""
