"""From findings to a fix plan: root causes, and the fewest sites whose change clears them."""
