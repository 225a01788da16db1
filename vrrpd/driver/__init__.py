"""The asyncio driver around the pure core: agent, executor, kernel, plan."""
