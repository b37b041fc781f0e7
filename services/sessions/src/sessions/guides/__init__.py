"""guides: each program's guide for its conversations (the peer-coaching method, step by step)."""
