"""The hub's side: publishing one site's boards and celebrations through an MQTT broker (issue 14)."""
