"""The Segment HTTP tracking API, so that Segment's and RudderStack's clients send to Onefold
unchanged (docs/api.md, "Using Segment or RudderStack clients")."""
