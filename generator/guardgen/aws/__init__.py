"""Live AWS at the edge: fetch (the only code that touches boto3) and analyze (pure functions over
fetched data). Imports policy/, catalog/ and config/; nothing below imports it."""
