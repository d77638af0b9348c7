"""How bytes reach an index: the shared httpx client, its transports and proxies."""
