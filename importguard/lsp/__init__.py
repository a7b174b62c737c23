"""`importguard lsp`, the language server: early.py answers first (before pygls loads),
server.py is the pygls server, session.py what it keeps between requests,
diagnostics.py a finding as an LSP Diagnostic, protocol.py JSON-RPC over stdio."""
