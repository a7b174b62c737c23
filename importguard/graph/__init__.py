"""The eager import graph and its chains, which calls reach a sink call, and name resolution over facts."""
