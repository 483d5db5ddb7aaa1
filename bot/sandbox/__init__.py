"""A local Slack workspace: the fake Web API, demo data and the browser page."""
