"""Privacy: what the wall may show about whom (issue 13), and each person's own choices."""
